/**
 * Background checkpoints of an SQLite store (src/store/checkpointer.ts), as `vpcmirror serve` opens
 * it: the worker thread copies the write-ahead log into the database file, the committing
 * connection only checkpoints by itself past a far larger log while the worker runs, and falls
 * back to SQLite's own threshold when the worker stops or cannot start.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { Checkpointer, INLINE_CHECKPOINT_PAGES } from '../../src/store/checkpointer.js';
import type { Executor } from '../../src/store/database.js';
import { openStore, type Store } from '../../src/store/store.js';
import { insertSession } from '../../src/vpc/traffic-mirror/sessions.repo.js';
import { sessionRow } from '../helpers/rows.js';
import { testStores } from '../helpers/server.js';

const ACCOUNT = '1000000000000001';

async function inlineLimit(db: Executor): Promise<number> {
  const r = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  return Number(r.rows[0]?.wal_autocheckpoint);
}

if (testStores().includes('sqlite')) {
  describe('background checkpoints [sqlite]', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'vpcmirror-checkpoint-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    async function open(name: string, errors: string[]): Promise<Store> {
      return openStore({
        location: join(dir, name),
        // Only the checkpoints a test asks for: the timer would race with the assertions.
        backgroundCheckpoints: { intervalMs: 3_600_000, onError: (m) => errors.push(m) },
      });
    }

    test('the worker copies committed pages into the database file itself', async () => {
      const errors: string[] = [];
      const store = await open('copied.sqlite', errors);
      try {
        assert.ok(store.checkpointer);
        assert.equal(await inlineLimit(store.db), INLINE_CHECKPOINT_PAGES);
        // Everything so far (migrations included) goes into the file first.
        await store.checkpointer.checkpoint();
        for (let i = 1; i <= 50; i++) {
          await insertSession(store.db, sessionRow(`tms-ckpt${i}`, ACCOUNT, 'cn-hangzhou', i));
        }
        const done = await store.checkpointer.checkpoint();
        assert.ok(done.logFrames > 0, 'the inserts went to the log');
        assert.equal(done.checkpointedFrames, done.logFrames, 'every frame is in the file now');
        // The database file alone, without its log, holds the rows: the checkpoint wrote them there.
        const alone = join(dir, 'copied-alone.sqlite');
        copyFileSync(join(dir, 'copied.sqlite'), alone);
        const reader = new Database(alone, { readonly: true });
        try {
          const r = reader.prepare('select count(*) as n from traffic_mirror_sessions').get() as {
            n: number;
          };
          assert.equal(r.n, 50);
        } finally {
          reader.close();
        }
        assert.deepEqual(errors, []);
      } finally {
        await store.close();
      }
    });

    test("without the worker, the committing connection returns to SQLite's own threshold", async () => {
      const store = await open('stopped.sqlite', []);
      try {
        const checkpointer = store.checkpointer;
        assert.ok(checkpointer);
        assert.equal(await inlineLimit(store.db), INLINE_CHECKPOINT_PAGES);
        await checkpointer.stop();
        assert.equal(await inlineLimit(store.db), 1000);
        await insertSession(store.db, sessionRow('tms-after-stop', ACCOUNT, 'cn-hangzhou', 1));
        await assert.rejects(checkpointer.checkpoint(), /the checkpoint thread has stopped/);
      } finally {
        await store.close();
      }
      const again = await openStore({ location: join(dir, 'stopped.sqlite') });
      try {
        const r = await sql<{ n: number }>`select count(*) as n from traffic_mirror_sessions`.execute(
          again.db,
        );
        assert.equal(Number(r.rows[0]?.n), 1, 'a write after the stop is kept');
      } finally {
        await again.close();
      }
    });

    test('a worker that cannot open the file reports it, and SQLite checkpoints by itself', async () => {
      const limits: number[] = [];
      const errors: string[] = [];
      const checkpointer = new Checkpointer({
        file: join(dir, 'no-such-file.sqlite'),
        intervalMs: 3_600_000,
        setInlineLimit: (pages) => limits.push(pages),
        onError: (m) => errors.push(m),
      });
      await checkpointer.stopped();
      assert.equal(errors.length, 1);
      assert.match(errors[0] ?? '', /cannot open .*no-such-file\.sqlite: unable to open database file/);
      assert.deepEqual(limits, [INLINE_CHECKPOINT_PAGES, 1000]);
    });

    test('an idle file is looked at less and less often, and a write brings the short pause back', async () => {
      // A store without a thread of its own, and a worker whose timer never fires in a test: each
      // checkpoint asked for counts as a look.
      const store = await openStore({ location: join(dir, 'idle.sqlite') });
      const errors: string[] = [];
      const checkpointer = new Checkpointer({
        file: join(dir, 'idle.sqlite'),
        intervalMs: 1_000_000,
        idlePauseMs: 8_000_000,
        setInlineLimit: () => {},
        onError: (m) => errors.push(m),
      });
      try {
        const pauses = async (n: number) => {
          const out: number[] = [];
          for (let i = 0; i < n; i++) out.push((await checkpointer.checkpoint()).nextPauseMs);
          return out;
        };
        assert.deepEqual(await pauses(5), [1_000_000, 2_000_000, 4_000_000, 8_000_000, 8_000_000]);
        await insertSession(store.db, sessionRow('tms-idle1', ACCOUNT, 'cn-hangzhou', 1));
        assert.deepEqual(await pauses(2), [1_000_000, 2_000_000]);
        // Commits of one size, each copied whole before the next: the log starts over each time and
        // shows the same frame counts at every look, yet each look follows a commit.
        const seen = new Set<string>();
        for (let i = 2; i <= 6; i++) {
          await insertSession(store.db, sessionRow(`tms-idle${i}`, ACCOUNT, 'cn-hangzhou', i));
          const look = await checkpointer.checkpoint();
          seen.add(`${look.logFrames}/${look.checkpointedFrames}`);
          assert.equal(look.nextPauseMs, 1_000_000, `the look after commit ${i}`);
        }
        assert.equal(seen.size, 1, 'the frame counts alone would not have shown the commits');
        assert.deepEqual(errors, []);
      } finally {
        await checkpointer.stop();
        await store.close();
      }
    });

    test('a checkpoint asked for once the stop has begun is refused, and the stop ends', async () => {
      const store = await open('stopping.sqlite', []);
      try {
        const checkpointer = store.checkpointer;
        assert.ok(checkpointer);
        const stopping = checkpointer.stop();
        await assert.rejects(checkpointer.checkpoint(), /the checkpoint thread has stopped/);
        await stopping;
      } finally {
        await store.close();
      }
    });

    test('a short-lived store (the CLI) starts no thread', async () => {
      const store = await openStore({ location: join(dir, 'cli.sqlite') });
      try {
        assert.equal(store.checkpointer, undefined);
        assert.equal(await inlineLimit(store.db), 1000);
      } finally {
        await store.close();
      }
    });
  });
} else {
  describe('background checkpoints [sqlite]', () => {
    test('runs only when SQLite is among the test stores', {
      skip: 'VPCMIRROR_TEST_STORES has no sqlite',
    }, () => {});
  });
}
