/**
 * Replay protection on an SQLite file. Whether a nonce was used is answered by the recent nonces
 * held in memory (recent-nonces.ts); each batch of first uses is written to a journal beside the
 * file (nonce-journal.ts) before the requests go on, and memory is loaded from it when the store
 * first records one. (Nonces were rows of the file before: a unique index on (AccessKey, nonce),
 * then the `nonce_log` table in expiry order. Rows an earlier version left there are loaded too,
 * and swept from the table as they expire.)
 *
 * Memory answers for the one process that holds it. Stores of one process on the same file share
 * it; a second process would not see the first one's nonces, so the first store that records
 * nonces locks a companion file (`<file>-lock`) for as long as stores of its process use the file,
 * and another process's server then refuses to start. PostgreSQL keeps the unique index
 * (replay.repo.ts): its nodes are separate processes by design.
 */
import { chmodSync, closeSync, openSync, realpathSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import type { Db, Executor } from './database.js';
import { StoreError } from './errors.js';
import { journalDirOf, NonceJournal, type NoncePrint } from './nonce-journal.js';
import { keyOf, type NonceUse, nonceExpiry } from './nonce-rows.js';
import { fingerprint, RecentNonces } from './recent-nonces.js';

/**
 * Nonces whose expiry falls in one two-minute span share a table in memory and a file of the
 * journal: about 8 of each for 15 minutes.
 */
export const SLICE_MS = 120_000;

/** The recent nonces, and the journal they are written to (none for an in-memory database). */
interface Recorder {
  readonly memory: RecentNonces;
  readonly journal: NonceJournal | undefined;
}

class SharedLog {
  users = 0;
  private closed = false;
  private recorder: Recorder | undefined;
  private lock: SqliteDatabase.Database | undefined;

  constructor(
    /** The file's path, or undefined for an in-memory database (nothing to lock, nothing to load). */
    private readonly location: string | undefined,
  ) {}

  /**
   * The recent nonces, loaded on first use through the caller's connection (another store of the
   * file may have closed since): first the lock, then the journal and any rows an earlier version
   * left in the table. Synchronous on purpose: no request of this process can record a nonce
   * between the two.
   */
  recent(file: SqliteDatabase.Database): Recorder {
    return this.recorder ?? this.load(file).recorder;
  }

  /** Takes the lock and reads the journal; what it read, for the start-up log. */
  private load(file: SqliteDatabase.Database): { recorder: Recorder; loaded: LogLoad } {
    const started = performance.now();
    const locked = this.lock !== undefined;
    // Refused once the last store of the file closed: a batch still under way then must not take
    // the lock again.
    this.lockNow();
    const memory = new RecentNonces(SLICE_MS);
    const journal =
      this.location === undefined ? undefined : new NonceJournal(journalDirOf(this.location), SLICE_MS);
    let nonces: number;
    try {
      nonces =
        journal?.load(
          (a, b, expiresAt) => memory.add(a, b, expiresAt),
          (start, count) => memory.reserve(start, count),
        ) ?? 0;
      // Rows an earlier version wrote to the table: held in memory, and left where they are, which
      // keeps them across a restart until the sweep deletes them as they expire.
      const rows = file.prepare('select access_key_id, nonce, expires_at from nonce_log').raw().iterate();
      for (const row of rows as Iterable<[string, string, number | bigint]>) {
        memory.add(...fingerprint(keyOf(row[0], row[1])), Number(row[2]));
        nonces++;
      }
    } catch (e) {
      journal?.close();
      // The lock goes again only if this call took it: a server holds its own from the start.
      if (!locked) this.unlockUnlessLoaded();
      throw e;
    }
    this.recorder = { memory, journal };
    return { recorder: this.recorder, loaded: { nonces, ms: Math.round(performance.now() - started) } };
  }

  /**
   * Takes the file's lock now, before the log can be read (its table may not exist yet). Taken
   * once: opening the lock file again would drop the lock (POSIX locks are per process).
   */
  lockNow(): void {
    // Nothing would let a lock taken now go again: close() has run.
    if (this.closed) throw new StoreError('DatabaseUnavailable', 'the store was closed');
    if (this.location !== undefined && this.lock === undefined) this.lock = lockFile(this.location);
  }

  /** Whether this process holds the file's lock. */
  holding(): boolean {
    return this.lock !== undefined;
  }

  /** Lets the lock go again, unless this process records nonces (it has loaded the log). */
  unlockUnlessLoaded(): void {
    if (this.recorder !== undefined) return;
    this.lock?.close();
    this.lock = undefined;
  }

  /** Loads the log unless loaded already; what this call read, if it read it. */
  open(file: SqliteDatabase.Database): LogLoad | undefined {
    return this.recorder ? undefined : this.load(file).loaded;
  }

  /** Drops the expired nonces from memory and the journal, if loaded: the sweep must not load them. */
  dropExpired(now: number): void {
    this.recorder?.memory.dropExpired(now);
    this.recorder?.journal?.dropExpired(now);
  }

  close(): void {
    this.closed = true;
    this.recorder?.journal?.close();
    this.lock?.close();
    this.lock = undefined;
    this.recorder = undefined;
  }
}

/** A store's view of its file's log: the shared log and the store's own connection. */
interface Joined {
  readonly shared: SharedLog;
  readonly file: SqliteDatabase.Database;
}

const byFile = new Map<string, SharedLog>();
const byDb = new WeakMap<object, Joined>();

/**
 * Joins the nonce log of an SQLite file opened as `file` (openStore calls this); returns the leave
 * that store.close() calls. Stores of this process on one file share one log.
 */
export function joinNonceLog(db: Db, location: string, file: SqliteDatabase.Database): () => void {
  // The real path: two names of one file (a symlink) must share one log and one lock.
  const path = location === ':memory:' ? undefined : realpathSync(location);
  let shared = path === undefined ? undefined : byFile.get(path);
  if (!shared) {
    // The lock goes by the real path too, or a second process could open the file by another name.
    shared = new SharedLog(path);
    if (path !== undefined) byFile.set(path, shared);
  }
  shared.users++;
  byDb.set(db.getExecutor().adapter, { shared, file });
  const joined = shared;
  // Once however often it is called: a second call would count another store of the file out.
  let left = false;
  return () => {
    if (left) return;
    left = true;
    joined.users--;
    if (joined.users > 0) return;
    joined.close();
    if (path !== undefined && byFile.get(path) === joined) byFile.delete(path);
  };
}

function joinedOf(db: Executor): Joined {
  const joined = byDb.get(db.getExecutor().adapter);
  if (!joined) throw new Error('no nonce log was joined for this SQLite store');
  return joined;
}

/** The recent nonces of the store's file, loaded if need be. */
function recentOf(db: Executor): Recorder {
  const { shared, file } = joinedOf(db);
  return shared.recent(file);
}

/** Takes the lock of the file's log for this process (StoreLocked if another process holds it). */
export function lockNonceLog(db: Executor): void {
  joinedOf(db).shared.lockNow();
}

/** Whether this process holds the lock of the store's file (an in-memory store has none). */
export function holdsNonceLog(db: Executor): boolean {
  return joinedOf(db).shared.holding();
}

/** Lets the lock lockNonceLog took go again, unless this process has loaded the log since. */
export function unlockNonceLog(db: Executor): void {
  joinedOf(db).shared.unlockUnlessLoaded();
}

/** What loading the log read: rows (expired ones not yet swept included) and milliseconds. */
export interface LogLoad {
  readonly nonces: number;
  readonly ms: number;
}

/**
 * Loads the log into memory now (and takes the file's lock): a server does this as it starts.
 * Undefined when a store of this process on the file has loaded it already.
 */
export function openNonceLog(db: Executor): LogLoad | undefined {
  const { shared, file } = joinedOf(db);
  return shared.open(file);
}

/**
 * Records nonces (already in their stored form): true for a first use, false for a replay. Memory
 * decides at once, in order, so that of two uses of one nonce the first wins; the first uses are
 * then written to the journal, all or none, and an error leaves memory as if they never came.
 */
export async function logNonces(db: Executor, uses: readonly NonceUse[], ttlMs: number): Promise<boolean[]> {
  const { memory, journal } = recentOf(db);
  const fresh: NoncePrint[] = [];
  const results = uses.map((u) => {
    const expiresAt = nonceExpiry(u, ttlMs);
    const [a, b] = fingerprint(keyOf(u.accessKeyId, u.nonce));
    if (!memory.claim(a, b, u.now, expiresAt)) return false;
    fresh.push({ a, b, expiresAt });
    return true;
  });
  try {
    if (fresh.length > 0) journal?.append(fresh);
  } catch (e) {
    for (const p of fresh) memory.forget(p.a, p.b, p.expiresAt);
    throw e;
  }
  return results;
}

/**
 * Removes expired nonces: rows an earlier version left in the table, and, in the process that
 * records them, whole slices of memory and of the journal.
 */
export async function sweepNonceLog(db: Executor, now: number): Promise<void> {
  await db.deleteFrom('nonce_log').where('expires_at', '<=', now).execute();
  joinedOf(db).shared.dropExpired(now);
}

/**
 * Locks `<file>-lock` for this process: an SQLite database held in an exclusive transaction that
 * is never committed. The operating system drops the lock when the process ends, even by kill -9.
 */
function lockFile(location: string): SqliteDatabase.Database {
  const path = `${location}-lock`;
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  const lock = new SqliteDatabase(path, { timeout: 0 });
  try {
    // Nothing is ever written: a journal in memory leaves no second companion file behind.
    lock.pragma('journal_mode = MEMORY');
    lock.exec('begin exclusive');
  } catch (e) {
    lock.close();
    if (e instanceof Error && 'code' in e && e.code === 'SQLITE_BUSY')
      throw new StoreError(
        'StoreLocked',
        `another process records nonces in ${location}: one SQLite file serves one server process ` +
          '(run several nodes on PostgreSQL)',
      );
    throw e;
  }
  return lock;
}
