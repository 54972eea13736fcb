/**
 * Reads outside a transaction share one SQLite read transaction until the event loop's next turn
 * (SqliteFileDialect.runDirect). These pin what that may and may not change: another connection
 * (another process) still writes meanwhile and shows from the next turn, or at once after
 * freshReads, which every request calls first; everything this process writes is committed when
 * its statement returns, and its own later reads see it; a transaction may begin at any point of a
 * turn; a store closes with a turn's read open.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Sqlite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { asRpcRequest, signRequest } from '../../src/cli/client.js';
import type { Database } from '../../src/store/database.js';
import { prepared } from '../../src/store/prepared.js';
import { openStore, type Store } from '../../src/store/store.js';
import { makeFilter, makeSession, REGION } from '../api/session-fixtures.js';
import { startTestServer, testStores } from '../helpers/server.js';

const skip = testStores().includes('sqlite') ? false : 'VPCMIRROR_TEST_STORES does not list sqlite';

type Scratch = { scratch: { a: number } };
type ScratchDb = Kysely<Database & Scratch>;

const rows = prepared((d, _p: Record<string, never>) =>
  d.withTables<Scratch>().selectFrom('scratch').select('a').orderBy('a'),
);
const insert = prepared((d, p: { a: number }) =>
  d.withTables<Scratch>().insertInto('scratch').values({ a: p.a }),
);
const values = async (db: ScratchDb): Promise<number[]> => (await rows.all(db, {})).map((r) => r.a);

describe('SQLite reads of one turn', { skip }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A store whose table scratch holds a = 1, and a second connection to its file. */
  async function withScratch(
    work: (db: ScratchDb, other: Sqlite.Database, store: Store) => Promise<void>,
  ): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-turns-'));
    dirs.push(dir);
    const file = join(dir, 'vpcmirror.sqlite');
    const store = await openStore({ location: file });
    const other = new Sqlite(file);
    try {
      const db = store.db.withTables<Scratch>();
      await sql`create table scratch (a integer not null)`.execute(db);
      await insert.run(db, { a: 1 });
      await nextTurn();
      await work(db, other, store);
    } finally {
      other.close();
      await store.close();
    }
  }

  test('share a snapshot: another connection writes meanwhile, and its row shows from the next turn on', async () => {
    await withScratch(async (db, other) => {
      assert.deepEqual(await values(db), [1]);
      // Not held back by the open read (WAL): no SQLITE_BUSY.
      other.prepare('insert into scratch (a) values (2)').run();
      assert.deepEqual(await values(db), [1], 'the same turn reads the same snapshot');
      await nextTurn();
      await nextTurn();
      assert.deepEqual(await values(db), [1, 2]);
    });
  });

  test('end at freshReads: the reads after it see what another connection committed', async () => {
    await withScratch(async (db, other, store) => {
      assert.deepEqual(await values(db), [1]);
      other.prepare('insert into scratch (a) values (7)').run();
      assert.deepEqual(await values(db), [1]);
      store.freshReads();
      assert.deepEqual(await values(db), [1, 7]);
    });
  });

  test('a request sees what another process committed before it began, even in the turn of an earlier request', async () => {
    // Without nonces a List answers within the turn it began in: nothing it awaits crosses one.
    const server = await startTestServer({
      env: { VPCMIRROR_CHECK_NONCE: 'false' },
      flags: { transitions: 'manual' },
    });
    const other = new Sqlite(server.database.location);
    try {
      const id = await makeSession(server, await makeFilter(server), { TrafficMirrorSessionName: 'before' });
      // In-process through the pipeline, not over HTTP: both Lists must run in one turn.
      const nameOf = async () => {
        const signed = signRequest(server, 'ListTrafficMirrorSessions', {
          RegionId: REGION,
          'TrafficMirrorSessionIds.1': id,
        });
        const { response } = await server.app.handle(asRpcRequest(signed));
        assert.equal(response.status, 200, String(response.body));
        const listed = JSON.parse(String(response.body)) as {
          TrafficMirrorSessions: Array<Record<string, unknown>>;
        };
        return listed.TrafficMirrorSessions[0]?.TrafficMirrorSessionName;
      };
      await nextTurn();
      assert.equal(await nameOf(), 'before');
      // Another process (say, a tool on the same file) commits while this turn's reads are open.
      other.prepare("update traffic_mirror_sessions set name = 'after' where id = ?").run(id);
      assert.equal(await nameOf(), 'after');
    } finally {
      other.close();
      await server.close();
    }
  });

  test("end at this process's write: it is committed when it returns, and the turn's later reads see it", async () => {
    await withScratch(async (db, other) => {
      assert.deepEqual(await values(db), [1]);
      await insert.run(db, { a: 3 });
      assert.deepEqual(
        other.prepare('select a from scratch order by a').pluck().all(),
        [1, 3],
        'another connection sees the write before the turn ends',
      );
      assert.deepEqual(await values(db), [1, 3]);
    });
  });

  test('end when a transaction asks for the connection, even between its request and its first statement', async () => {
    await withScratch(async (db, other) => {
      assert.deepEqual(await values(db), [1]);
      // Asked for in the middle of a turn whose read is open, and read again while it waits.
      const written = db.transaction().execute(async (tx) => {
        await insert.run(tx, { a: 4 });
        return values(tx);
      });
      const during = values(db);
      assert.deepEqual(await written, [1, 4]);
      assert.deepEqual(await during, [1]);
      assert.deepEqual(other.prepare('select a from scratch order by a').pluck().all(), [1, 4]);
      assert.deepEqual(await values(db), [1, 4]);
      // A queued (non-prepared) statement ends the turn's read too, then runs on its own.
      assert.deepEqual(await values(db), [1, 4]);
      await sql`insert into scratch (a) values (5)`.execute(db);
      assert.deepEqual(other.prepare('select a from scratch order by a').pluck().all(), [1, 4, 5]);
      assert.deepEqual(await values(db), [1, 4, 5]);
    });
  });

  test('a store closes with a read of the turn open, and the turn ends without error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-turns-'));
    dirs.push(dir);
    const file = join(dir, 'vpcmirror.sqlite');
    const store = await openStore({ location: file });
    const db = store.db.withTables<Scratch>();
    await sql`create table scratch (a integer not null)`.execute(db);
    await nextTurn();
    assert.deepEqual(await values(db), []);
    await store.close();
    await nextTurn();
    // The file is free: another connection takes the write lock at once.
    const other = new Sqlite(file, { timeout: 0 });
    try {
      other.exec('begin immediate; insert into scratch (a) values (6); commit');
      assert.deepEqual(other.prepare('select a from scratch').pluck().all(), [6]);
    } finally {
      other.close();
    }
  });
});
