import { PostgresAdapter } from 'kysely';
import type { Executor } from './database.js';

export type Dialect = 'sqlite' | 'postgres';

/** The engine behind a database or transaction, for the few statements written per engine. */
export function dialectOf(db: Executor): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** A JSON column as the engine hands it back: PostgreSQL's driver parses json, SQLite gives text. */
export function jsonColumn(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
