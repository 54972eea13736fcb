/**
 * Which store failures a request answers with ServiceUnavailable (a retry may succeed) rather than
 * InternalError, on errors the drivers really raise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { isStoreUnavailable, isUniqueViolation } from '../../src/store/errors.js';
import { openStore } from '../../src/store/store.js';
import { pgUrl, testStores } from '../helpers/server.js';

async function caught(work: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await work();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

describe('isStoreUnavailable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-store-errors-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an SQLite file another connection keeps locked is unavailable; a missing table or a duplicate key is not', async () => {
    const location = join(dir, 'locked.sqlite');
    const holder = new SqliteDatabase(location);
    const waiter = new SqliteDatabase(location, { timeout: 0 });
    try {
      holder.pragma('journal_mode = WAL');
      holder.exec('create table t (k text primary key)');
      holder.exec('begin exclusive');
      const busy = await caught(() => waiter.exec('begin immediate'));
      assert.equal((busy as { code?: string }).code, 'SQLITE_BUSY');
      assert.equal(isStoreUnavailable(busy), true);
      holder.exec('commit');
      assert.equal(isStoreUnavailable(await caught(() => waiter.exec('select * from missing'))), false);
      waiter.exec("insert into t values ('a')");
      const duplicate = await caught(() => waiter.exec("insert into t values ('a')"));
      assert.equal(isUniqueViolation(duplicate), true);
      assert.equal(isStoreUnavailable(duplicate), false);
    } finally {
      waiter.close();
      holder.close();
    }
  });

  test('an SQLite file that cannot grow (disk full) is unavailable', () => {
    const file = new SqliteDatabase(join(dir, 'full.sqlite'));
    try {
      file.exec('create table t (v blob)');
      // A file held to its current size stands in for a full disk: SQLite reports both as SQLITE_FULL.
      const pages = Number(file.pragma('page_count', { simple: true }));
      file.pragma(`max_page_count = ${pages + 2}`);
      const full = (() => {
        try {
          file.prepare('insert into t values (zeroblob(100000))').run();
        } catch (e) {
          return e;
        }
        return assert.fail('expected an error');
      })();
      assert.equal((full as { code?: string }).code, 'SQLITE_FULL');
      assert.equal(isStoreUnavailable(full), true);
    } finally {
      file.close();
    }
  });

  test('a write the disk has no room for is unavailable (the nonce journal), one refused otherwise is not', async () => {
    // Linux's /dev/full answers every write with ENOSPC, as a full disk does.
    const full = openSync('/dev/full', 'w');
    try {
      const noRoom = await caught(() => writeSync(full, 'x'));
      assert.equal((noRoom as { code?: string }).code, 'ENOSPC');
      assert.equal(isStoreUnavailable(noRoom), true);
    } finally {
      closeSync(full);
    }
    const notAFile = await caught(() => openSync(dir, 'r+'));
    assert.equal((notAFile as { code?: string }).code, 'EISDIR');
    assert.equal(isStoreUnavailable(notAFile), false);
  });

  test('a file opened when the process has no descriptor left is unavailable', () => {
    // A process of its own with a low limit: this one's descriptors stay untouched.
    const script = [
      "import { openSync } from 'node:fs';",
      "import { isStoreUnavailable } from './src/store/errors.ts';",
      'const held = [];',
      "try { for (;;) held.push(openSync('/dev/null', 'r')); }",
      'catch (e) { process.stdout.write(JSON.stringify({ code: e.code, unavailable: isStoreUnavailable(e) })); }',
    ].join('\n');
    const out = execFileSync(
      'sh',
      ['-c', 'ulimit -n 64 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) },
    );
    assert.deepEqual(JSON.parse(out), { code: 'EMFILE', unavailable: true });
  });

  test('a PostgreSQL server nobody listens for is unavailable', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: 1, user: 'nobody', database: 'none' });
    const refused = await caught(() => client.connect());
    assert.equal((refused as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(isStoreUnavailable(refused), true);
  });

  test('a PostgreSQL connection ended by the server under the next query is unavailable', {
    skip: !testStores().includes('postgres') && 'the PostgreSQL leg is not selected',
  }, async () => {
    const victim = new pg.Client({ connectionString: pgUrl() });
    const admin = new pg.Client({ connectionString: pgUrl() });
    victim.on('error', () => undefined);
    await victim.connect();
    await admin.connect();
    try {
      const pid = (await victim.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
      await admin.query('select pg_terminate_backend($1)', [pid]);
      // The backend ends when it handles the signal; wait for that (bounded) before the next query.
      for (let i = 0; ; i++) {
        const left = await admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
        if (left.rows.length === 0) break;
        assert.ok(i < 200, 'the backend did not end within 10 s');
        await delay(50);
      }
      const cut = await caught(() => victim.query('select 1'));
      assert.equal(isStoreUnavailable(cut), true, String(cut));
    } finally {
      await admin.end();
      await victim.end().catch(() => undefined);
    }
  });

  test('PostgreSQL codes: failover, leftover deadlocks and serialization failures are unavailable, a protocol violation is not', () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    for (const code of [
      '57P03',
      '53300',
      '25006',
      '40P01',
      '40001',
      '08006',
      '55P03',
      '25P03',
      '57014',
      'ENOTFOUND',
    ])
      assert.equal(isStoreUnavailable(withCode(code)), true, code);
    assert.equal(isStoreUnavailable(withCode('08P01')), false);
  });

  test('anything else is not', () => {
    assert.equal(isStoreUnavailable(new Error('boom')), false);
    assert.equal(isStoreUnavailable(Object.assign(new Error('x'), { code: '23505' })), false);
    assert.equal(isStoreUnavailable('ECONNREFUSED'), false);
    assert.equal(isStoreUnavailable(undefined), false);
  });
});

describe('a PostgreSQL store when connections break or locks are held', {
  skip: !testStores().includes('postgres') && 'the PostgreSQL leg is not selected',
}, () => {
  const schema = `vpcmirror_breaks_${process.pid}`;

  test('a pooled connection the server ends is reported and replaced; the process goes on', async () => {
    const broke: string[] = [];
    const store = await openStore({ location: pgUrl(), schema, onConnectionError: (m) => broke.push(m) });
    const admin = new pg.Client({ connectionString: pgUrl() });
    await admin.connect();
    try {
      // The pool holds the connection idle after this query: ending it is an 'error' on the pool,
      // which without a listener would end the test process.
      const r = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db);
      const pid = r.rows[0]?.pid;
      await admin.query('select pg_terminate_backend($1)', [pid]);
      for (let i = 0; broke.length === 0; i++) {
        assert.ok(i < 200, 'the broken connection was not reported within 10 s');
        await delay(50);
      }
      assert.match(broke[0] ?? '', /terminat/i);
      const again = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      assert.equal(again.rows[0]?.one, 1);
    } finally {
      await admin.end();
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
      await store.close();
    }
  });

  // Without the deadline this test would hang: the bound makes that a failure.
  test('a connection that goes silent is given up after the statement deadline: the statement and its transaction fail as unavailable, and the next work gets a new connection', {
    timeout: 30_000,
  }, async () => {
    // A proxy to PostgreSQL that can stop passing bytes on the connections it carries, as a
    // failover or a vanished host does, while new connections still go through.
    const frozen = new Set<Socket>();
    const carried: Socket[] = [];
    const target = new URL(pgUrl());
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      carried.push(client, upstream);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('data', (c: Buffer) => {
        if (!frozen.has(client)) upstream.write(c);
      });
      upstream.on('data', (c: Buffer) => {
        if (!frozen.has(client)) client.write(c);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const through = new URL(pgUrl());
    through.host = `127.0.0.1:${port}`;
    const store = await openStore({
      location: through.href,
      schema,
      poolSize: 1,
      pgLockTimeoutMs: 100,
      pgStatementDeadlineMs: 500,
    });
    try {
      await sql`select 1`.execute(store.db);
      for (const c of carried) frozen.add(c);
      const lost = await caught(() => sql`select 1`.execute(store.db));
      assert.equal(isStoreUnavailable(lost), true, String(lost));
      assert.match(String(lost), /did not answer within 500 ms/);
      // The one pooled connection is the silent one: given up, it is not handed out again.
      const r = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      assert.equal(r.rows[0]?.one, 1);
      // A transaction on a connection that goes silent fails too, rollback included, and promptly.
      const tx = await caught(() =>
        store.db.transaction().execute(async (t) => {
          await sql`select 1`.execute(t);
          for (const c of carried) frozen.add(c);
          await sql`select 2`.execute(t);
        }),
      );
      assert.equal(isStoreUnavailable(tx), true, String(tx));
      assert.equal((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows[0]?.one, 1);
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db).catch(() => undefined);
      await store.close();
      for (const c of carried) c.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  test("the database URL's own options add to the store's timeouts instead of replacing them; a setting it names wins", async () => {
    const withPath = new URL(pgUrl());
    withPath.searchParams.set(
      'options',
      `-c search_path=${schema} -c idle_in_transaction_session_timeout=5min`,
    );
    const store = await openStore({ location: withPath.href, schema });
    try {
      const r = await sql<{
        path: string;
        lock: string;
        idle: string;
      }>`select current_setting('search_path') as path, current_setting('lock_timeout') as lock, current_setting('idle_in_transaction_session_timeout') as idle`.execute(
        store.db,
      );
      assert.deepEqual(r.rows[0], { path: schema, lock: '20s', idle: '5min' });
    } finally {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
      await store.close();
    }
  });

  test('the lock timeout ends 10 s (or half a short statement deadline) before the deadline, and is 20 s at most', async () => {
    for (const [deadline, lock] of [
      [6_000, '3s'],
      [20_000, '10s'],
      [25_000, '15s'],
      [30_000, '20s'],
      [90_000, '20s'],
    ] as const) {
      const store = await openStore({ location: pgUrl(), schema, pgStatementDeadlineMs: deadline });
      try {
        const r = await sql<{ lock: string }>`select current_setting('lock_timeout') as lock`.execute(
          store.db,
        );
        assert.equal(r.rows[0]?.lock, lock, `deadline ${deadline} ms`);
      } finally {
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
        await store.close();
      }
    }
  });

  test('a row lock held past the lock timeout ends the wait as unavailable, not a hang', async () => {
    const store = await openStore({ location: pgUrl(), schema, pgLockTimeoutMs: 300 });
    const holder = new pg.Client({ connectionString: pgUrl(), options: `-c search_path=${schema}` });
    await holder.connect();
    try {
      await sql`insert into accounts (id, name, default_resource_group_id, created_at) values ('1000000000000777', 'locked', 'rg-x', 0)`.execute(
        store.db,
      );
      await holder.query('begin');
      await holder.query(`select * from accounts where id = '1000000000000777' for update`);
      const waited = await caught(() =>
        sql`select * from accounts where id = '1000000000000777' for update`.execute(store.db),
      );
      assert.equal((waited as { code?: string }).code, '55P03', String(waited));
      assert.equal(isStoreUnavailable(waited), true);
      await holder.query('rollback');
    } finally {
      await holder.end();
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
      await store.close();
    }
  });
});
