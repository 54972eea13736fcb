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
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/store/database.js';
import { prepared } from '../../src/store/prepared.js';
import { openStore, type Store } from '../../src/store/store.js';
import { testStores } from '../helpers/server.js';

const skip = testStores().includes('sqlite') ? false : 'VPCMIRROR_TEST_STORES does not list sqlite';

type Scratch = {
  scratch: { a: number; b: number };
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
  /** A store holding table scratch with one row, a = 1 and b = 2. */
  async function withScratch(work: (db: Kysely<Database & Scratch>) => Promise<void>): Promise<void> {
    await withStore(async (store) => {
      const db = store.db.withTables<Scratch>();
      await sql`create table scratch (a integer not null, b integer not null)`.execute(db);
      await sql`insert into scratch (a, b) values (1, 2)`.execute(db);
      await work(db);
    });
  }

  test('a statement with a `*` shows the columns of the moment after a schema change: other names, order or number', async () => {
    await withScratch(async (db) => {
      const everything = prepared((d, _p: Record<string, never>) =>
        d.withTables<Scratch>().selectFrom('scratch').selectAll(),
      );
      const queued = async () => (await sql<Record<string, unknown>>`select * from scratch`.execute(db)).rows;
      assert.deepEqual(await everything.all(db, {}), [{ a: 1, b: 2 }]);
      assert.deepEqual(await queued(), [{ a: 1, b: 2 }]);

      // The same number of columns under another name.
      await sql`alter table scratch rename column a to z`.execute(db);
      assert.deepEqual(await everything.all(db, {}), [{ z: 1, b: 2 }]);
      assert.deepEqual(await queued(), [{ z: 1, b: 2 }]);

      // The same names in the other order: each value must stay with its name.
      await sql`create table scratch2 (b integer not null, z integer not null)`.execute(db);
      await sql`insert into scratch2 (b, z) select b, z from scratch`.execute(db);
      await sql`drop table scratch`.execute(db);
      await sql`alter table scratch2 rename to scratch`.execute(db);
      for (const rows of [await everything.all(db, {}), await queued()]) {
        const [row] = rows as Array<Record<string, unknown>>;
        assert.equal(row?.z, 1);
        assert.equal(row?.b, 2);
      }

      // One more column.
      await sql`alter table scratch add column c integer not null default 7`.execute(db);
      assert.deepEqual(await everything.all(db, {}), [{ b: 2, z: 1, c: 7 }]);
      assert.deepEqual(await queued(), [{ b: 2, z: 1, c: 7 }]);
    });
  });

  test('a statement naming its columns fails, rather than misreads, once a column it names is renamed', async () => {
    await withScratch(async (db) => {
      const named = prepared((d, _p: Record<string, never>) =>
        d.withTables<Scratch>().selectFrom('scratch').select(['b', 'a']),
      );
      assert.deepEqual(await named.all(db, {}), [{ b: 2, a: 1 }]);
      await sql`alter table scratch rename column a to z`.execute(db);
      await assert.rejects(named.all(db, {}), /no such column/);
    });
  });

  test('two columns of one name give the later value; a column named __proto__ leaves the prototype alone', async () => {
    await withStore(async (store) => {
      const { rows } = await sql<
        Record<string, unknown>
      >`select 1 as x, 2 as x, x'00' as "__proto__", 'v' as y`.execute(store.db);
      const [row] = rows;
      assert.ok(row);
      assert.equal(row.x, 2);
      assert.equal(row.y, 'v');
      assert.equal(Object.getPrototypeOf(row), Object.prototype);
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
