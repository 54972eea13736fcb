/**
 * Rows as the SQLite driver hands them out (sqlite-dialect.ts): SQLite returns arrays and the
 * driver makes objects of them, so these check the objects against what SQLite's own columns say,
 * through both ways a statement runs: directly (prepared statements) and through Kysely's queue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { prepared } from '../../src/store/prepared.js';
import { openStore, type Store } from '../../src/store/store.js';
import { testStores } from '../helpers/server.js';

const skip = testStores().includes('sqlite') ? false : 'VPCMIRROR_TEST_STORES does not list sqlite';

type Scratch = {
  scratch: { a: number; b?: number };
};

describe('SQLite rows', { skip }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  async function withStore(work: (store: Store) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-rows-'));
    dirs.push(dir);
    const store = await openStore({ location: join(dir, 'vpcmirror.sqlite') });
    try {
      await work(store);
    } finally {
      await store.close();
    }
  }

  test('a column added after a statement first ran is in its rows the next time it runs', async () => {
    await withStore(async (store) => {
      const db = store.db.withTables<Scratch>();
      await sql`create table scratch (a integer not null)`.execute(db);
      await sql`insert into scratch (a) values (1), (2)`.execute(db);
      const everything = prepared((d, _p: Record<string, never>) =>
        d.withTables<Scratch>().selectFrom('scratch').selectAll().orderBy('a'),
      );
      const queued = () => sql<Scratch['scratch']>`select * from scratch order by a`.execute(db);
      assert.deepEqual(await everything.all(db, {}), [{ a: 1 }, { a: 2 }]);
      assert.deepEqual((await queued()).rows, [{ a: 1 }, { a: 2 }]);

      await sql`alter table scratch add column b integer not null default 7`.execute(db);
      assert.deepEqual(await everything.all(db, {}), [
        { a: 1, b: 7 },
        { a: 2, b: 7 },
      ]);
      assert.deepEqual((await queued()).rows, [
        { a: 1, b: 7 },
        { a: 2, b: 7 },
      ]);
    });
  });

  test('two columns of one name give the later value; a column named __proto__ is an ordinary key', async () => {
    await withStore(async (store) => {
      const { rows } = await sql<
        Record<string, unknown>
      >`select 1 as x, 2 as x, 3 as "__proto__", 'v' as y`.execute(store.db);
      const [row] = rows;
      assert.ok(row);
      assert.equal(row.x, 2);
      assert.equal(row.y, 'v');
      assert.ok(Object.hasOwn(row, '__proto__'));
      assert.equal(Object.getOwnPropertyDescriptor(row, '__proto__')?.value, 3);
      assert.equal(Object.getPrototypeOf(row), Object.prototype);
      assert.deepEqual(Object.keys(row), ['x', '__proto__', 'y']);
    });
  });

  test('streamed rows are objects too, and an empty result is an empty list', async () => {
    await withStore(async (store) => {
      const db = store.db.withTables<Scratch>();
      await sql`create table scratch (a integer not null)`.execute(db);
      assert.deepEqual((await sql`select a from scratch`.execute(db)).rows, []);
      await sql`insert into scratch (a) values (3), (4)`.execute(db);
      const streamed: unknown[] = [];
      for await (const row of db.selectFrom('scratch').select('a').orderBy('a').stream()) streamed.push(row);
      assert.deepEqual(streamed, [{ a: 3 }, { a: 4 }]);
    });
  });
});
