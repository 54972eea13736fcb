/**
 * The group commit on SQLite as the server runs it: one store on the file (so prepared statements
 * run directly on the connection), and an independent connection, as another process would have,
 * that looks at the file at the very moment each caller is answered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { GroupCommit } from '../../src/store/group-commit.js';
import { openStore, type Store } from '../../src/store/store.js';
import { insertSession } from '../../src/vpc/traffic-mirror/sessions.repo.js';
import { sessionRow } from '../helpers/rows.js';
import { testStores } from '../helpers/server.js';

if (testStores().includes('sqlite')) {
  describe('group commit [sqlite]', () => {
    let dir: string;
    let store: Store;
    let observer: Database.Database;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vpcmirror-group-'));
      const location = join(dir, 'vpcmirror.sqlite');
      store = await openStore({ location });
      observer = new Database(location, { readonly: true });
    });
    after(async () => {
      observer.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Where SQLite keeps the connection's temporary files: 0 default (disk), 1 disk, 2 memory. */
    const tempStore = async (db: Store['db']) =>
      (await sql<{ temp_store: number }>`pragma temp_store`.execute(db)).rows[0]?.temp_store;

    test("each member's savepoint journal stays in memory: the store's temporary files are, once migrated", async () => {
      // On disk, SQLite spills a statement journal past 64 KiB to a file: dozens of writes a Create.
      assert.equal(await tempStore(store.db), 2);
    });

    test('a large transaction (the admin reset) has its temporary files on disk, and requests get memory back after it', async () => {
      const inside = await store.largeTransaction((tx) => tempStore(tx));
      assert.equal(inside, 1);
      assert.equal(await tempStore(store.db), 2);
      await assert.rejects(
        store.largeTransaction(async () => {
          throw new Error('the work failed');
        }),
        /the work failed/,
      );
      assert.equal(await tempStore(store.db), 2);
    });

    test('a store opened to be migrated by its caller (vpcmirror db migrate) keeps temporary files on disk', async () => {
      const other = await openStore({ location: join(dir, 'vpcmirror.sqlite'), migrate: false });
      try {
        assert.equal(await tempStore(other.db), 0);
      } finally {
        await other.close();
      }
    });

    test('no caller is answered before the shared commit: another connection already sees its row', async () => {
      const group = new GroupCommit(store.db);
      const seenAtAnswer = new Map<string, boolean>();
      const visible = observer.prepare('select count(*) as n from traffic_mirror_sessions where id = ?');
      const ids = Array.from({ length: 5 }, (_, i) => `tms-group${i}`);
      await Promise.all(
        ids.map((id, i) =>
          group
            .run(async (tx) => {
              await insertSession(tx, sessionRow(id, '1000000000000001', 'cn-hangzhou', i + 1));
              return id;
            })
            .then((answered) => {
              // Synchronously, in the very callback that answers: the row must be on disk by now.
              const r = visible.get(answered) as { n: number };
              seenAtAnswer.set(answered, r.n === 1);
            }),
        ),
      );
      assert.deepEqual(
        ids.map((id) => seenAtAnswer.get(id)),
        ids.map(() => true),
      );
    });
  });
} else {
  console.log('# group commit [sqlite] SKIPPED: VPCMIRROR_TEST_STORES does not list sqlite');
}
