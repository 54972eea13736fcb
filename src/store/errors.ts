/** The store's own errors, and recognising constraint violations the same way on both engines. */

/** A store that cannot be opened or used as asked; the command line prints the message alone. */
export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** True for a unique-constraint violation from SQLite or PostgreSQL. */
export function isUniqueViolation(e: unknown): boolean {
  if (!e || typeof e !== 'object' || !('code' in e)) return false;
  const code = String(e.code);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/**
 * True when PostgreSQL ended the transaction to break a deadlock (40P01), or for a serialization
 * failure (40001, which READ COMMITTED, the level every transaction asks for, does not raise, but
 * a server set up otherwise might). Nothing of it was committed, so running the same work again
 * in a new transaction is safe.
 */
export function isRetryableAbort(e: unknown): boolean {
  if (!e || typeof e !== 'object' || !('code' in e)) return false;
  const code = String(e.code);
  return code === '40P01' || code === '40001';
}

/**
 * Codes of failures a later attempt may not meet: the network's (the database server cannot be
 * reached right now) and PostgreSQL's named below; class 08 and SQLITE_BUSY* are matched apart.
 */
const UNAVAILABLE = new Set([
  'ENOTFOUND',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '25006',
  '40P01',
  '40001',
  '55P03',
  '25P03',
  '57014',
]);

/**
 * True for a failure of the store that a later attempt may not meet: PostgreSQL refusing or cutting
 * connections (connection exceptions, class 08; shutting down or starting, 57P01-57P03; too many
 * connections, 53300; read-only right after a failover, 25006), a deadlock or serialization failure
 * left after the retries (40P01, 40001), a lock not granted within the lock timeout (55P03), a
 * transaction ended for idling (25P03), a statement cancelled (57014), a connection that ended under a query, a pool that found
 * no connection in time, an SQLite file another process kept locked past the busy timeout, or an
 * SQLite file (or its nonce journal) that could not grow (disk full), a file or connection of the
 * store that could not be opened for want of a file descriptor (the process's or the system's
 * limit: a journal slice, a PostgreSQL connection).
 * Requests answer these with ServiceUnavailable, which clients retry, instead of InternalError.
 * A connection cut during COMMIT is one of them although the commit may have landed: a retry with
 * the same ClientToken then replays the first answer, one without may do the work twice.
 */
export function isStoreUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = 'code' in e ? String(e.code) : '';
  if (UNAVAILABLE.has(code)) return true;
  // Class 08 but 08P01 (protocol violation: a bug, the same on every retry).
  if (code.startsWith('08') && code.length === 5 && code !== '08P01') return true;
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) return true;
  // The disk is full (or the file at its size limit): the write is rolled back whole, and the same
  // request succeeds once there is room.
  if (code === 'SQLITE_FULL') return true;
  // The same for the SQLite store's nonce journal (nonce-journal.ts). Out of descriptors (a new
  // journal slice, a PostgreSQL connection): closing connections give them back.
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EMFILE' || code === 'ENFILE') return true;
  // node-postgres reports these without a code.
  return /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error/.test(
    e.message,
  );
}
