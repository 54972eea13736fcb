import { PostgresAdapter, type RawBuilder, sql } from 'kysely';
import type { Executor } from './database.js';

export type Dialect = 'sqlite' | 'postgres';

/** The engine behind a database or transaction, for the few statements written per engine. */
export function dialectOf(db: Executor): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Whether each statement is a round trip to a server (PostgreSQL) rather than a call into the
 * engine inside this process (SQLite): folding several statements into one pays off only then.
 */
export function statementsAreRemote(db: Executor): boolean {
  return dialectOf(db) === 'postgres';
}

/** A JSON column as the engine hands it back: PostgreSQL's driver parses json, SQLite gives text. */
export function jsonColumn(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/**
 * The JSON array of `value` over the rows of a correlated subquery, `[]` when there are none: the
 * one aggregate whose name and empty result differ between the engines.
 */
export function jsonArrayAgg(db: Executor, value: RawBuilder<unknown>, orderBy: RawBuilder<unknown>) {
  return dialectOf(db) === 'postgres'
    ? sql<unknown>`coalesce(json_agg(${value} order by ${orderBy}), '[]'::json)`
    : sql<unknown>`json_group_array(${value} order by ${orderBy})`;
}

/** A JSON array of the given values, in one row. */
export function jsonTuple(db: Executor, ...values: RawBuilder<unknown>[]) {
  const list = sql.join(values);
  return dialectOf(db) === 'postgres'
    ? sql<unknown>`json_build_array(${list})`
    : sql<unknown>`json_array(${list})`;
}

/**
 * A text column compared and ordered by code point, as SQLite compares text, also on a PostgreSQL
 * database whose collation is a language's (en_US.UTF-8, ICU), where "a" < "B" and "_x" comes
 * first. For text that orders an answer. (Done in the statements, not by changing the columns'
 * collation: a running node's prepared statements would then fail until their connections end.)
 */
export function byCodePoint(db: Executor, column: string): RawBuilder<string> {
  return dialectOf(db) === 'postgres'
    ? sql<string>`${sql.ref(column)} collate "C"`
    : sql<string>`${sql.ref(column)}`;
}
