/**
 * A node id is held by one live process at a time on a PostgreSQL database (Store.claimNode): a
 * second claim of the id is refused while the first holder lives, whatever schema-sharing pool it
 * comes from, and the holder takes the id again when its connection is cut.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { nodeClaimConnection, openStore, type Store, StoreError } from '../../src/store/store.js';
import { until } from '../helpers/poll.js';
import { pgUrl, testStores } from '../helpers/server.js';

const skip = testStores().includes('postgres')
  ? false
  : `VPCMIRROR_TEST_STORES (${process.env.VPCMIRROR_TEST_STORES ?? 'unset'}) does not list postgres`;

describe('node ids held on PostgreSQL', { skip }, () => {
  const schemaA = `n_${randomBytes(6).toString('hex')}`;
  const schemaB = `n_${randomBytes(6).toString('hex')}`;
  const open: Store[] = [];
  let admin: Store;
  const store = async (schema: string, reclaimMs = 60_000): Promise<Store> => {
    const s = await openStore({ location: pgUrl(), schema, pgNodeReclaimMs: reclaimMs });
    open.push(s);
    return s;
  };
  const newId = () => `node-${randomBytes(8).toString('hex')}`;
  /** The backends that hold `id` (named after it, see nodeClaim). */
  const holders = async (id: string): Promise<number[]> => {
    const r = await sql<{ pid: number }>`
      select pid from pg_stat_activity where application_name = ${`vpcmirror node ${id}`}`.execute(admin.db);
    return r.rows.map((row) => row.pid);
  };

  before(async () => {
    admin = await openStore({ location: pgUrl(), migrate: false });
  });
  after(async () => {
    for (const s of open) await s.close().catch(() => undefined);
    for (const schema of [schemaA, schemaB])
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db).catch(() => undefined);
    await admin.close();
  });

  test('a second claim of a held id is refused as NodeIdInUse; another id, or the same id in another schema, is not; a released id can be claimed again', async () => {
    const [a, b, elsewhere] = [await store(schemaA), await store(schemaA), await store(schemaB)];
    const id = newId();
    const releaseA = await a.claimNode(id, () => {});
    assert.deepEqual((await holders(id)).length, 1);
    await assert.rejects(
      b.claimNode(id, () => {}),
      (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, 'NodeIdInUse');
        assert.match(e.message, new RegExp(`another running node uses the node id ${id} on this database`));
        return true;
      },
    );
    const releaseOther = await b.claimNode(newId(), () => {});
    const releaseElsewhere = await elsewhere.claimNode(id, () => {});
    await releaseA();
    assert.equal((await holders(id)).length, 1, 'only the other schema holds it now');
    const releaseB = await b.claimNode(id, () => {});
    await Promise.all([releaseB(), releaseOther(), releaseElsewhere()]);
    assert.deepEqual(await holders(id), []);
  });

  test("the claim connection asks PostgreSQL to give it up within about 30 s of silence, and keeps the store's own settings", async () => {
    const client = new pg.Client(
      nodeClaimConnection({ connectionString: pgUrl(), options: `-c search_path=${schemaA}` }, 'node-x'),
    );
    await client.connect();
    try {
      const r = await client.query<Record<string, string>>(
        `select current_setting('tcp_keepalives_idle') as idle, current_setting('tcp_keepalives_interval') as every,
                current_setting('tcp_keepalives_count') as count, current_setting('search_path') as path,
                current_setting('application_name') as name`,
      );
      assert.deepEqual(r.rows[0], {
        idle: '10',
        every: '5',
        count: '3',
        path: schemaA,
        name: 'vpcmirror node node-x',
      });
    } finally {
      await client.end();
    }
  });

  test('closing the store lets its claims go', async () => {
    const a = await openStore({ location: pgUrl(), schema: schemaA });
    const id = newId();
    await a.claimNode(id, () => {});
    await a.close();
    const b = await store(schemaA);
    const release = await b.claimNode(id, () => {});
    await release();
  });

  test('a holder whose connection is cut takes the id again, and says so; one that finds it taken meanwhile says that', async () => {
    const id = newId();
    const lost: string[] = [];
    const a = await store(schemaA, 50);
    const release = await a.claimNode(id, (m) => lost.push(m));
    const [first] = await holders(id);
    assert.ok(first !== undefined);
    await sql`select pg_terminate_backend(${first})`.execute(admin.db);
    await until(
      'the id taken again on a new connection',
      () => holders(id),
      (now) => now.length === 1 && now[0] !== first,
      10_000,
    );
    assert.match(lost[0] ?? '', new RegExp(`the connection holding node id ${id} ended; taking it again`));
    const b = await store(schemaA);
    await assert.rejects(
      b.claimNode(id, () => {}),
      /another running node uses the node id/,
    );

    // Cut again, with another process ready to take the id first.
    const slow = await store(schemaA, 1_500);
    const id2 = newId();
    const lost2: string[] = [];
    const releaseSlow = await slow.claimNode(id2, (m) => lost2.push(m));
    const [holder] = await holders(id2);
    await sql`select pg_terminate_backend(${holder ?? 0})`.execute(admin.db);
    const releaseB = await b.claimNode(id2, () => {});
    // PostgreSQL ends a cut backend in its own time.
    await until(
      'the cut holder finds the id taken',
      () => lost2.length,
      (n) => n >= 2,
      10_000,
    );
    assert.match(lost2[1] ?? '', new RegExp(`node id ${id2} is now held by another process`));
    await Promise.all([release(), releaseSlow(), releaseB()]);
  });
});
