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
 * True when PostgreSQL ended the transaction to break a deadlock (40P01). Nothing of it was
 * committed, so running the same work again in a new transaction is safe.
 */
export function isDeadlock(e: unknown): boolean {
  return !!e && typeof e === 'object' && 'code' in e && String(e.code) === '40P01';
}
