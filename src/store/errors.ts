/** Recognising constraint violations the same way on both engines. */

/** True for a unique-constraint violation from SQLite or PostgreSQL. */
export function isUniqueViolation(e: unknown): boolean {
  if (!e || typeof e !== 'object' || !('code' in e)) return false;
  const code = String(e.code);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
