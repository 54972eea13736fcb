/**
 * What only the SQLite nonce log does (nonce-log.ts, nonce-journal.ts): memory loaded from the
 * journal when a store of the file first records, a failed write taken back, a record cut short
 * dropped, whole slices swept, and the file's lock against a second process.
 * What both engines do alike is in the repository suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { journalDirOf, NonceJournal, RECORD_BYTES, type ReadAt } from '../../src/store/nonce-journal.js';
import { holdsNonceLog, SLICE_MS } from '../../src/store/nonce-log.js';
import { lockForRecording, prepareNonces, recordNonces, sweepNonces } from '../../src/store/replay.repo.js';
import { openStore, type Store } from '../../src/store/store.js';
import { testStores } from '../helpers/server.js';

const TTL = 900_000;
const NOW = Date.now();
const use = (nonce: string, now = NOW) => ({ accessKeyId: 'AK1', nonce, now });

const skip = testStores().includes('sqlite') ? false : 'VPCMIRROR_TEST_STORES does not list sqlite';

describe('the SQLite nonce log', { skip }, () => {
  const dirs: string[] = [];
  function freshFile(): string {
    const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-nonces-'));
    dirs.push(dir);
    return join(dir, 'vpcmirror.sqlite');
  }
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  /** Opens a store on the file, runs `work` with it, and closes it whatever happens. */
  async function withStore(location: string, work: (store: Store) => Promise<void>): Promise<void> {
    const store = await openStore({ location });
    try {
      await work(store);
    } finally {
      await store.close();
    }
  }

  test('nonces recorded before every store of the file closed are replays after it opens again', async () => {
    const location = freshFile();
    await withStore(location, async (first) => {
      assert.deepEqual(await recordNonces(first.db, [use('a'), use('b')], TTL), [true, true]);
    });
    await withStore(location, async (again) => {
      assert.deepEqual(await recordNonces(again.db, [use('a'), use('c'), use('b')], TTL), [
        false,
        true,
        false,
      ]);
    });
  });

  test('a store loads the log through its own connection, after the store that opened the file first closed', async () => {
    const location = freshFile();
    await withStore(location, async (seed) => {
      assert.deepEqual(await recordNonces(seed.db, [use('seeded')], TTL), [true]);
    });
    const first = await openStore({ location });
    const second = await openStore({ location });
    await first.close();
    try {
      assert.deepEqual(await recordNonces(second.db, [use('seeded'), use('new')], TTL), [false, true]);
    } finally {
      await second.close();
    }
  });

  test('two stores of this process on one file through a symlink share its nonces and its write queue', async () => {
    const location = freshFile();
    const alias = join(dirname(location), 'alias.sqlite');
    const real = await openStore({ location });
    symlinkSync(location, alias);
    const linked = await openStore({ location: alias });
    try {
      assert.deepEqual(await recordNonces(real.db, [use('through-real')], TTL), [true]);
      assert.deepEqual(await recordNonces(linked.db, [use('through-real')], TTL), [false]);
      // Two transactions that await inside: without one queue for both names, the second would
      // wait for SQLite's lock on the very thread the first needs to commit, and fail SQLITE_BUSY.
      const write = (store: typeof real, key: string) =>
        store.db.transaction().execute(async (tx) => {
          await sql`insert into change_counters (name, value) values (${key}, 1)`.execute(tx);
          await new Promise((r) => setTimeout(r, 20));
          await sql`update change_counters set value = 2 where name = ${key}`.execute(tx);
        });
      await Promise.all([write(real, 'via-real'), write(linked, 'via-link')]);
    } finally {
      await linked.close();
      await real.close();
    }
  });

  /** The journal's directory and the file of the slice `expiresAt` falls in. */
  function journalOf(location: string, expiresAt = NOW + TTL) {
    // The file's real path, as the store resolves it (the file itself may not exist yet).
    const dir = journalDirOf(join(realpathSync(dirname(location)), basename(location)));
    return { dir, slice: join(dir, String(Math.floor(expiresAt / SLICE_MS) * SLICE_MS)) };
  }

  test('used nonces are written to an owner-only journal beside the file, one record each', async () => {
    const location = freshFile();
    await withStore(location, async (store) => {
      assert.deepEqual(await recordNonces(store.db, [use('a'), use('b'), use('a')], TTL), [
        true,
        true,
        false,
      ]);
      const { dir, slice } = journalOf(location);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(slice).mode & 0o777, 0o600);
      assert.equal(statSync(slice).size, 2 * RECORD_BYTES);
    });
  });

  test('a nonce whose write failed was never used: it is accepted when it comes again', async () => {
    const location = freshFile();
    const { slice } = journalOf(location);
    // A directory where the slice's file would go: opening it for writing fails.
    mkdirSync(slice, { recursive: true });
    await withStore(location, async (store) => {
      await assert.rejects(recordNonces(store.db, [use('lost-1'), use('lost-2')], TTL), { code: 'EISDIR' });
      rmSync(slice, { recursive: true });
      assert.deepEqual(await recordNonces(store.db, [use('lost-1'), use('lost-2'), use('lost-1')], TTL), [
        true,
        true,
        false,
      ]);
    });
    await withStore(location, async (again) => {
      assert.deepEqual(await recordNonces(again.db, [use('lost-1'), use('lost-2')], TTL), [false, false]);
    });
  });

  test('a batch whose nonces fall in two slices is written all or nothing', async () => {
    const location = freshFile();
    const later = NOW + TTL + 2 * SLICE_MS;
    const { slice: first } = journalOf(location);
    const { slice: second } = journalOf(location, later);
    mkdirSync(second, { recursive: true });
    const batch = [use('in-first'), { ...use('in-second'), keepUntil: later }];
    await withStore(location, async (store) => {
      await assert.rejects(recordNonces(store.db, batch, TTL), { code: 'EISDIR' });
      assert.equal(statSync(first).size, 0, 'what the batch wrote to the first slice is cut off again');
    });
    rmSync(second, { recursive: true });
    await withStore(location, async (store) => {
      assert.deepEqual(await recordNonces(store.db, batch, TTL), [true, true]);
    });
  });

  test('a record cut short by a crash is dropped, and what is written after it is read whole', async () => {
    const location = freshFile();
    await withStore(location, async (store) => {
      assert.deepEqual(await recordNonces(store.db, [use('whole')], TTL), [true]);
    });
    const { slice } = journalOf(location);
    appendFileSync(slice, Buffer.alloc(RECORD_BYTES - 5, 0xff));
    await withStore(location, async (store) => {
      assert.equal(prepareNonces(store.db)?.nonces, 1);
      assert.equal(statSync(slice).size, RECORD_BYTES, 'loading cuts the partial record off');
      assert.deepEqual(await recordNonces(store.db, [use('whole'), use('after')], TTL), [false, true]);
    });
    assert.equal(statSync(slice).size, 2 * RECORD_BYTES);
    await withStore(location, async (store) => {
      assert.deepEqual(await recordNonces(store.db, [use('whole'), use('after')], TTL), [false, false]);
    });
  });

  test('a journal read in pieces shorter than asked, ending inside records, is read whole', () => {
    const dir = join(dirname(freshFile()), 'journal');
    const start = Math.floor(NOW / SLICE_MS) * SLICE_MS;
    // More records than one piece of the reader holds (4,096), so that pieces and records both cross.
    const written = Array.from({ length: 5_000 }, (_, i) => ({ a: i, b: 2 * i + 1, expiresAt: start + i }));
    const writer = new NonceJournal(dir, SLICE_MS);
    writer.load(() => {});
    writer.append(written);
    writer.close();
    // Tiny reads, and reads of nearly all that was asked (a piece at a time, less 5 bytes).
    for (const short of [(_length: number, n: number) => 5 + (n % 23), (length: number) => length - 5]) {
      const asked: number[] = [];
      const stingy: ReadAt = (fd, into, at, length, position) => {
        asked.push(length);
        return readSync(fd, into, at, Math.max(1, Math.min(length, short(length, asked.length))), position);
      };
      const read: Array<{ a: number; b: number; expiresAt: number }> = [];
      const reader = new NonceJournal(dir, SLICE_MS, stingy);
      try {
        assert.equal(
          reader.load((a, b, expiresAt) => read.push({ a, b, expiresAt })),
          written.length,
        );
      } finally {
        reader.close();
      }
      assert.ok(asked.length > 2, 'the reads were short');
      assert.deepEqual(read, written);
    }
    assert.equal(
      statSync(join(dir, String(start))).size,
      written.length * RECORD_BYTES,
      'nothing was cut off',
    );
  });

  test('records no write of ours makes are skipped when the journal is read', async () => {
    const location = freshFile();
    await withStore(location, async (store) => {
      assert.deepEqual(await recordNonces(store.db, [use('kept')], TTL), [true]);
    });
    const { slice } = journalOf(location);
    // Zeros (the second word of a fingerprint is odd), and an expiry outside the file's slice.
    const stray = Buffer.alloc(2 * RECORD_BYTES);
    stray.writeUInt32LE(7, RECORD_BYTES + 4);
    stray.writeDoubleLE(Number.NaN, RECORD_BYTES + 8);
    appendFileSync(slice, stray);
    await withStore(location, async (store) => {
      assert.equal(prepareNonces(store.db)?.nonces, 1);
      assert.deepEqual(await recordNonces(store.db, [use('kept')], TTL), [false]);
    });
  });

  test('a write the disk has no room for fails the batch, whose nonces stay unused', async () => {
    const location = freshFile();
    const { dir, slice } = journalOf(location);
    mkdirSync(dir, { recursive: true });
    // Linux's /dev/full refuses every write with ENOSPC, as a full disk does.
    symlinkSync('/dev/full', slice);
    await withStore(location, async (store) => {
      await assert.rejects(recordNonces(store.db, [use('no-room')], TTL), { code: 'ENOSPC' });
      // Taken back out of memory: the next use is a first use again, and so is written (and fails)
      // again, where a nonce still held would be answered as a replay without a write.
      await assert.rejects(recordNonces(store.db, [use('no-room')], TTL), { code: 'ENOSPC' });
    });
    rmSync(slice);
    await withStore(location, async (store) => {
      assert.deepEqual(await recordNonces(store.db, [use('no-room'), use('no-room')], TTL), [true, false]);
    });
  });

  test('a batch or a claim that comes after the last store of the file closed is refused, and takes no lock', async () => {
    const location = freshFile();
    const closed = await openStore({ location });
    await closed.close();
    await assert.rejects(recordNonces(closed.db, [use('late')], TTL), { code: 'DatabaseUnavailable' });
    assert.throws(() => lockForRecording(closed.db), { code: 'DatabaseUnavailable' });
    assert.equal(holdsNonceLog(closed.db), false);
    await withStore(location, async (store) => {
      assert.equal(prepareNonces(store.db)?.nonces, 0);
      assert.deepEqual(await recordNonces(store.db, [use('late')], TTL), [true]);
    });
  });

  test('a store closed twice leaves the nonces of another store of the file alone', async () => {
    const location = freshFile();
    const twice = await openStore({ location });
    const other = await openStore({ location });
    try {
      assert.deepEqual(await recordNonces(twice.db, [use('before')], TTL), [true]);
      await twice.close();
      await twice.close();
      assert.deepEqual(await recordNonces(other.db, [use('before'), use('after')], TTL), [false, true]);
    } finally {
      await other.close();
    }
  });

  test('the sweep deletes the slices of the journal whose nonces have all expired, and leaves the rest', async () => {
    const location = freshFile();
    await withStore(location, async (store) => {
      await recordNonces(store.db, [use('short', 1_000)], 100);
      await recordNonces(store.db, [use('long', 1_000)], TTL);
      const { dir } = journalOf(location);
      const files = () => readdirSync(dir).sort();
      assert.deepEqual(files(), ['0', String(Math.floor((1_000 + TTL) / SLICE_MS) * SLICE_MS)].sort());
      await sweepNonces(store.db, SLICE_MS - 1, 0);
      assert.equal(files().length, 2, 'a slice goes only once all of it has expired');
      await sweepNonces(store.db, SLICE_MS, 0);
      assert.deepEqual(files(), [String(Math.floor((1_000 + TTL) / SLICE_MS) * SLICE_MS)]);
      assert.deepEqual(await recordNonces(store.db, [use('long', 1_200), use('short', 1_200)], TTL), [
        false,
        true,
      ]);
    });
  });

  test('another process cannot record nonces in the file while a store of this one does, and can once it closes', async () => {
    const location = freshFile();
    const store = await openStore({ location });
    const alias = join(dirname(location), 'alias.sqlite');
    symlinkSync(location, alias);
    const other = (at = location) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { openStore } from './src/store/store.ts';
           import { prepareNonces } from './src/store/replay.repo.ts';
           const store = await openStore({ location: ${JSON.stringify(at)} });
           try { prepareNonces(store.db); console.log('recording'); }
           catch (e) { console.log(e.code, e.message); }
           finally { await store.close(); }`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
    try {
      // A store that only sweeps (a server with the nonce check off) does not lock the file.
      await sweepNonces(store.db, NOW, 0);
      assert.equal(other().stdout.trim(), 'recording');
      prepareNonces(store.db);
      const refused = other();
      assert.match(
        refused.stdout,
        /^StoreLocked another process records nonces in .*vpcmirror\.sqlite: one SQLite file serves one server process/,
        refused.stderr,
      );
      // Nor through another name of the file: it would replay what this process has seen.
      const throughLink = other(alias);
      assert.match(throughLink.stdout, /^StoreLocked /, throughLink.stderr);
      // A second store of this process on the same file shares the first one's nonces instead.
      const second = await openStore({ location });
      try {
        assert.deepEqual(await recordNonces(store.db, [use('shared')], TTL), [true]);
        assert.deepEqual(await recordNonces(second.db, [use('shared')], TTL), [false]);
      } finally {
        await second.close();
      }
    } finally {
      await store.close();
    }
    assert.equal(other().stdout.trim(), 'recording');
  });
});
