/**
 * Migrations on both engines: applied when the store opens and by `vpcmirror db migrate` (a real
 * child process), all-or-nothing when one fails, and a database migrated by newer code is refused
 * by openStore and by `vpcmirror serve` with one clear line and exit code 2.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Kysely, Migrator, sql } from 'kysely';
import { readRamGeneration } from '../../src/store/credentials.repo.js';
import { migrations } from '../../src/store/migrations/index.js';
import { recordNonces } from '../../src/store/replay.repo.js';
import { openStore, type Store, StoreError } from '../../src/store/store.js';
import { countSessions } from '../../src/vpc/traffic-mirror/sessions.repo.js';
import { untilWaiting } from '../helpers/pg-waits.js';
import { freshPgSchema, runCli } from '../helpers/process.js';
import { sessionRow } from '../helpers/rows.js';
import { pgUrl, testStores } from '../helpers/server.js';

const FUTURE = '2099_12_31_0001_from_the_future';
const TABLES = [
  'accounts',
  'ram_users',
  'ram_groups',
  'ram_group_members',
  'access_keys',
  'policies',
  'policy_attachments',
  'client_tokens',
  'traffic_mirror_filters',
  'traffic_mirror_filter_rules',
  'traffic_mirror_sessions',
  'traffic_mirror_session_sources',
  'tags',
  'transitions',
  'service_status',
  'change_counters',
  'session_counts',
] as const;
/** Used nonces: a table keyed by nonce that nodes share on PostgreSQL, a log on SQLite. */
const NONCE_TABLE = { postgres: 'nonces', sqlite: 'nonce_log' } as const;

/** One fresh, empty database per call, given to openStore and to the CLI. */
interface Target {
  /** openStore options. */
  readonly location: string;
  readonly schema?: string;
  /** CLI flags that select the same database. */
  readonly flags: readonly string[];
  drop(): Promise<void>;
}

async function freshTarget(kind: 'sqlite' | 'postgres'): Promise<Target> {
  if (kind === 'postgres') {
    const pg = await freshPgSchema();
    return { location: pg.url, flags: ['--database', pg.url], drop: () => pg.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-migrate-'));
  return {
    location: join(dir, 'vpcmirror.sqlite'),
    flags: ['--data-dir', dir],
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function applied(store: Store): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
  return r.rows.map((row) => row.name);
}

async function markFuture(target: Target): Promise<void> {
  const store = await openStore({ location: target.location });
  try {
    await sql`insert into kysely_migration (name, timestamp) values (${FUTURE}, ${new Date().toISOString()})`.execute(
      store.db,
    );
  } finally {
    await store.close();
  }
}

for (const kind of testStores()) {
  describe(`migrations [${kind}]`, () => {
    const known = Object.keys(migrations(kind)).sort();
    const targets: Target[] = [];
    async function target(): Promise<Target> {
      const t = await freshTarget(kind);
      targets.push(t);
      return t;
    }
    after(async () => {
      for (const t of targets) await t.drop();
    });

    /** A store on the target, migrated up to and including `name` only; the caller closes it. */
    async function migratedTo(t: Target, name: string): Promise<Store> {
      const early = await openStore({ location: t.location, migrate: false });
      const migrator = new Migrator({
        db: early.db as unknown as Kysely<unknown>,
        provider: { getMigrations: async () => migrations(early.dialect) },
        ...(kind === 'postgres' ? { migrationTableSchema: await schemaOf(early) } : {}),
      });
      const result = await migrator.migrateTo(name);
      if (result.error !== undefined) {
        await early.close();
        assert.fail(`migrating to ${name} failed: ${String(result.error)}`);
      }
      return early;
    }

    test('openStore applies every migration to an empty database', async () => {
      const t = await target();
      const store = await openStore({ location: t.location });
      try {
        assert.deepEqual(await applied(store), known);
        for (const table of [...TABLES, NONCE_TABLE[kind]]) {
          const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db);
          // The RAM generation counter starts at one row; everything else starts empty.
          assert.equal(Number(r.rows[0]?.n), table === 'change_counters' ? 1 : 0, table);
        }
      } finally {
        await store.close();
      }
      // Opening again is a no-op, not an error.
      const again = await openStore({ location: t.location });
      await again.close();
    });

    test('vpcmirror db migrate applies each pending migration, names it, then says up to date', async () => {
      const t = await target();
      const first = await runCli(['db', 'migrate', ...t.flags]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(
        first.stdout.trim().split('\n'),
        known.map((name) => `${name}: Success`),
      );
      const second = await runCli(['db', 'migrate', ...t.flags]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /: up to date\n$/);
      assert.equal(second.stdout.trim().split('\n').length, 1);
      const store = await openStore({ location: t.location, migrate: false });
      try {
        assert.deepEqual(await applied(store), known);
      } finally {
        await store.close();
      }
    });

    test('vpcmirror db status names each migration applied or pending and changes nothing; a missing SQLite store is refused, not made', async () => {
      const t = await target();
      const early = await migratedTo(t, '2026_11_26_0003_ram_generation');
      await early.close();
      const status = await runCli(['db', 'status', ...t.flags]);
      assert.equal(status.code, 0, status.stderr);
      const lines = status.stdout.trim().split('\n');
      assert.deepEqual(
        lines.slice(0, -1).map((l) => l.replace(/applied \S+$/, 'applied')),
        known.map((name, i) => `${name}: ${i < 3 ? 'applied' : 'pending'}`),
      );
      assert.match(
        lines.at(-1) ?? '',
        new RegExp(`: ${known.length - 3} pending \\(vpcmirror db migrate applies them\\)$`),
      );
      assert.equal(
        (await runCli(['db', 'status', ...t.flags])).stdout,
        status.stdout,
        'looking changed nothing',
      );
      assert.equal((await runCli(['db', 'migrate', ...t.flags])).code, 0);
      assert.match((await runCli(['db', 'status', ...t.flags])).stdout, /: up to date\n$/);
      if (kind === 'sqlite') {
        const missing = join(t.location, '..', 'nope', 'vpcmirror.sqlite');
        const r = await runCli(['db', 'status', '--database', missing]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /no store at /);
        assert.equal(existsSync(missing), false);
      }
    });

    test('the session counts migration counts the sessions already stored', async () => {
      const t = await target();
      const early = await migratedTo(t, '2026_11_26_0003_ram_generation');
      try {
        const row = (id: string, regionId: string, priority: number) =>
          sessionRow(id, '1', regionId, priority);
        await early.db
          .insertInto('traffic_mirror_sessions')
          .values([
            row('tms-a', 'cn-hangzhou', 1),
            row('tms-b', 'cn-hangzhou', 2),
            row('tms-c', 'cn-beijing', 1),
          ])
          .execute();
      } finally {
        await early.close();
      }
      const store = await openStore({ location: t.location });
      try {
        assert.equal(await countSessions(store.db, '1', 'cn-hangzhou'), 2);
        assert.equal(await countSessions(store.db, '1', 'cn-beijing'), 1);
        await store.db.deleteFrom('traffic_mirror_sessions').where('id', '=', 'tms-a').execute();
        assert.equal(await countSessions(store.db, '1', 'cn-hangzhou'), 1);
      } finally {
        await store.close();
      }
    });

    test('the used nonces are carried over: on SQLite by the nonce log migration, and read with the journal; PostgreSQL keeps its table', async () => {
      const t = await target();
      const early = await migratedTo(t, '2026_11_26_0004_session_counts');
      try {
        const far = Date.now() + 3_600_000;
        await early.db
          .insertInto('nonces')
          .values([
            { access_key_id: 'AK1', nonce: 'used-before', expires_at: far },
            { access_key_id: 'AK2', nonce: 'used-before', expires_at: far },
          ])
          .execute();
      } finally {
        await early.close();
      }
      const store = await openStore({ location: t.location });
      try {
        const now = Date.now();
        const again = await recordNonces(
          store.db,
          [
            { accessKeyId: 'AK1', nonce: 'used-before', now },
            { accessKeyId: 'AK2', nonce: 'used-before', now },
            { accessKeyId: 'AK3', nonce: 'used-before', now },
          ],
          900_000,
        );
        assert.deepEqual(again, [false, false, true]);
        const tables = await sql<{
          n: number;
        }>`select count(*) as n from ${sql.table(NONCE_TABLE[kind])}`.execute(store.db);
        // On SQLite the rows stay where they are, read with the nonce journal, and the new use goes
        // to the journal (nonce-log.ts).
        assert.equal(Number(tables.rows[0]?.n), kind === 'sqlite' ? 2 : 3);
      } finally {
        await store.close();
      }
      const reopened = await openStore({ location: t.location });
      try {
        const now = Date.now();
        const uses = ['AK1', 'AK2', 'AK3'].map((accessKeyId) => ({ accessKeyId, nonce: 'used-before', now }));
        assert.deepEqual(await recordNonces(reopened.db, uses, 900_000), [false, false, false]);
      } finally {
        await reopened.close();
      }
    });

    test('the RAM generation and session counts follow writes made with another search_path', {
      skip: kind !== 'postgres' && 'search_path is PostgreSQL only',
    }, async () => {
      await followsOtherSearchPath(await target());
    });

    /** The counters move for writes, and a truncate, made by a tool with another search_path. */
    async function followsOtherSearchPath(t: Target): Promise<void> {
      const store = await openStore({ location: t.location });
      const schema = await schemaOf(store);
      // A tool connected with the default search_path, naming the tables with their schema.
      const other = await openStore({ location: pgUrl(), migrate: false });
      try {
        const before = await readRamGeneration(store.db);
        await sql`insert into ${sql.table(`${schema}.access_keys`)}
          (access_key_id, secret, account_id, status, created_at) values ('LTAIother', 's', '1', 'Active', 1)`.execute(
          other.db,
        );
        assert.ok((await readRamGeneration(store.db)) > before);
        await sql`insert into ${sql.table(`${schema}.traffic_mirror_sessions`)}
          (id, account_id, region_id, name, description, target_id, target_type, filter_id, virtual_network_id,
           priority, packet_length, enabled, status, business_status, resource_group_id, created_at)
          values ('tms-other', '1', 'cn-hangzhou', '', '', 'eni-t', 'NetworkInterface', 'tmf-x', 1, 1, 1500, 0,
                  'Created', 'Normal', 'rg-x', 1)`.execute(other.db);
        assert.equal(await countSessions(store.db, '1', 'cn-hangzhou'), 1);
        await sql`truncate ${sql.table(`${schema}.traffic_mirror_sessions`)}`.execute(other.db);
        assert.equal(await countSessions(store.db, '1', 'cn-hangzhou'), 0, 'a truncate empties the counts');
        const beforeTruncate = await readRamGeneration(store.db);
        await sql`truncate ${sql.table(`${schema}.policy_attachments`)}`.execute(other.db);
        assert.ok(
          (await readRamGeneration(store.db)) > beforeTruncate,
          'a truncate moves the RAM generation',
        );
      } finally {
        await other.close();
        await store.close();
      }
    }

    test('a database made by the early build of migrations 0003 and 0004 gets their current triggers, and counts a truncate left stale are redone', {
      skip: kind !== 'postgres' && 'the early build differed on PostgreSQL only',
    }, async () => {
      const t = await target();
      const early = await migratedTo(t, '2026_11_27_0006_server_secrets');
      try {
        // What the early build made: functions that follow the caller's search_path, and
        // triggers that miss TRUNCATE.
        for (const fn of ['bump_ram_generation', 'count_inserted_sessions', 'count_deleted_sessions'])
          await sql`alter function ${sql.id(fn)}() reset all`.execute(early.db);
        for (const table of ['access_keys', 'ram_users', 'policies', 'policy_attachments']) {
          const trigger = sql.id(`${table}_ram_generation`);
          await sql`drop trigger ${trigger} on ${sql.table(table)}`.execute(early.db);
          await sql`create trigger ${trigger} after insert or update or delete on ${sql.table(table)}
            for each statement execute function bump_ram_generation()`.execute(early.db);
        }
        await sql`drop trigger traffic_mirror_sessions_count_truncate on traffic_mirror_sessions`.execute(
          early.db,
        );
        await sql`drop function count_truncated_sessions()`.execute(early.db);
        await early.db
          .insertInto('traffic_mirror_sessions')
          .values(sessionRow('tms-early', '1', 'cn-hangzhou', 1))
          .execute();
        await sql`truncate traffic_mirror_sessions`.execute(early.db);
        assert.equal(
          await countSessions(early.db, '1', 'cn-hangzhou'),
          1,
          'the early build left the count stale',
        );
      } finally {
        await early.close();
      }
      const store = await openStore({ location: t.location });
      try {
        assert.deepEqual(await applied(store), known);
        assert.equal(await countSessions(store.db, '1', 'cn-hangzhou'), 0, 'recounted');
      } finally {
        await store.close();
      }
      await followsOtherSearchPath(t);
    });

    test('migration 0007 meeting a Create of an older node (counter row locked, then the session inserted) still completes, whether the count is right or stale', {
      skip: kind !== 'postgres' && 'the repair runs on PostgreSQL only',
    }, async () => {
      for (const stale of [false, true]) {
        const t = await target();
        const early = await migratedTo(t, '2026_11_27_0006_server_secrets');
        await early.db
          .insertInto('session_counts')
          .values({ account_id: '1', region_id: 'cn-hangzhou', n: stale ? 5 : 0 })
          .execute();
        let migration: Promise<string> | undefined;
        let settled = false;
        const oldNode = await early.db
          .transaction()
          .execute(async (trx) => {
            // lockSessionQuota of the older node, then its insert once the new node is migrating.
            await sql`insert into session_counts (account_id, region_id, n) values ('1', 'cn-hangzhou', 0)
              on conflict (account_id, region_id) do update set n = session_counts.n`.execute(trx);
            migration = openStore({ location: t.location }).then(
              async (s) => {
                settled = true;
                await s.close();
                return 'migrated';
              },
              (e: unknown) => {
                settled = true;
                return `failed: ${String(e)}`;
              },
            );
            await untilWaiting(trx, () => settled, { what: 'the migration', mayFinish: true });
            await trx
              .insertInto('traffic_mirror_sessions')
              .values(sessionRow('tms-old', '1', 'cn-hangzhou', 1))
              .execute();
            return 'committed';
          })
          .catch((e: unknown) => `rolled back: ${String(e)}`);
        assert.equal(await migration, 'migrated', `stale=${stale}, the older node's create ${oldNode}`);
        if (!stale) assert.equal(oldNode, 'committed');
        const store = await openStore({ location: t.location });
        try {
          const sessions = await store.db.selectFrom('traffic_mirror_sessions').select('id').execute();
          assert.equal(await countSessions(store.db, '1', 'cn-hangzhou'), sessions.length, `stale=${stale}`);
        } finally {
          await store.close();
          await early.close();
        }
      }
    });

    test('a failing migration leaves nothing of the migrations run with it', async () => {
      const t = await target();
      const store = await openStore({ location: t.location });
      try {
        const migrator = new Migrator({
          db: store.db as unknown as Kysely<unknown>,
          migrationTableName: 'test_migration',
          migrationLockTableName: 'test_migration_lock',
          ...(kind === 'postgres' ? { migrationTableSchema: await schemaOf(store) } : {}),
          provider: {
            getMigrations: async () => ({
              a_adds_a_table: {
                up: async (db: Kysely<unknown>) => {
                  await db.schema.createTable('half_done').addColumn('x', 'integer').execute();
                },
              },
              b_fails: {
                up: async () => {
                  throw new Error('migration b failed');
                },
              },
            }),
          },
        });
        const result = await migrator.migrateToLatest();
        assert.match(String(result.error), /migration b failed/);
        const exists = await sql`select * from half_done`.execute(store.db).then(
          () => true,
          () => false,
        );
        assert.equal(exists, false, 'the table of the first migration must be rolled back');
      } finally {
        await store.close();
      }
    });

    describe('a database migrated by newer code', () => {
      let t: Target;
      before(async () => {
        t = await target();
        await markFuture(t);
      });

      test('openStore refuses it with DatabaseTooNew naming the unknown migration', async () => {
        await assert.rejects(openStore({ location: t.location }), (e: unknown) => {
          assert.ok(e instanceof StoreError);
          assert.equal(e.code, 'DatabaseTooNew');
          assert.match(e.message, /migrated by a newer vpcmirror/);
          assert.ok(e.message.includes(FUTURE), e.message);
          return true;
        });
      });

      test('vpcmirror serve refuses it with one line on stderr and exit code 2', async () => {
        const r = await runCli(['serve', '--port', '0', ...t.flags]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^vpcmirror: The database at .* was migrated by a newer vpcmirror/);
        assert.ok(r.stderr.includes(FUTURE), r.stderr);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.doesNotMatch(r.stdout, /vpcmirror listening/);
      });

      test('vpcmirror db migrate refuses it with exit code 2 and changes nothing', async () => {
        const r = await runCli(['db', 'migrate', ...t.flags]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^vpcmirror: The database at .* was migrated by a newer vpcmirror/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
        const store = await openStore({ location: t.location, migrate: false });
        try {
          assert.deepEqual(await applied(store), [...known, FUTURE].sort());
        } finally {
          await store.close();
        }
      });
    });
  });
}

async function schemaOf(store: Store): Promise<string> {
  const r = await sql<{ s: string }>`select current_schema() as s`.execute(store.db);
  return r.rows[0]?.s ?? 'public';
}
