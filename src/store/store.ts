/**
 * Opens the store: an embedded SQLite file (default) or a PostgreSQL database shared by several
 * nodes, behind one Kysely instance. Migrations run here, and a database that is newer than this
 * code is refused rather than silently misread.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  type MigrationResultSet,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
} from 'kysely';
import pg from 'pg';
import type { Database, Db } from './database.js';
import type { Dialect } from './dialect.js';
import { migrations } from './migrations/index.js';

export class StoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

export interface StoreOptions {
  /** `postgres://…` for PostgreSQL; otherwise the path of the SQLite file. */
  location: string;
  /** PostgreSQL only: a schema to use instead of `public` (tests isolate themselves this way). */
  schema?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export interface Store {
  readonly db: Db;
  readonly dialect: Dialect;
  readonly location: string;
  close(): Promise<void>;
}

// int8 columns (bigint times, bigserial seq) come back from pg as strings; all our values fit a double.
pg.types.setTypeParser(20, (v) => Number(v));

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

export function redactUrl(location: string): string {
  return isPostgresUrl(location) ? location.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@') : location;
}

export async function openStore(options: StoreOptions & { migrate?: boolean }): Promise<Store> {
  const dialect: Dialect = isPostgresUrl(options.location) ? 'postgres' : 'sqlite';
  let db: Db;
  if (dialect === 'postgres') {
    const pool = new pg.Pool({
      connectionString: options.location,
      max: options.poolSize ?? 10,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    if (options.schema) {
      await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
    }
  } else {
    if (options.location !== ':memory:')
      mkdirSync(dirname(options.location), { recursive: true, mode: 0o700 });
    const file = new SqliteDatabase(options.location);
    // WAL keeps readers off the writer's back; NORMAL sync is durable across process crashes
    // (kill -9), which is the failure this store promises to survive.
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = NORMAL');
    file.pragma('busy_timeout = 5000');
    file.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) });
  }
  const store: Store = {
    db,
    dialect,
    location: options.location,
    close: () => db.destroy(),
  };
  if (options.migrate !== false) {
    try {
      await migrateToLatest(store);
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  return store;
}

function migrator(store: Store): Migrator {
  const all: Record<string, Migration> = migrations(store.dialect);
  return new Migrator({ db: store.db, provider: { getMigrations: async () => all } });
}

/** Names of migrations the database has applied that this code does not know. */
async function unknownApplied(store: Store): Promise<string[]> {
  const known = new Set(Object.keys(migrations(store.dialect)));
  const unknownInCode: string[] = [];
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(store.db);
    for (const r of rows.rows) if (!known.has(r.name)) unknownInCode.push(r.name);
  } catch {
    // No migration table yet: a fresh database.
  }
  return unknownInCode;
}

export async function migrateToLatest(store: Store): Promise<MigrationResultSet> {
  const newer = await unknownApplied(store);
  if (newer.length > 0) {
    throw new StoreError(
      'DatabaseTooNew',
      `The database at ${redactUrl(store.location)} was migrated by a newer vpcmirror (unknown migrations: ${newer.join(', ')}). Upgrade vpcmirror or point it at another database.`,
    );
  }
  const result = await migrator(store).migrateToLatest();
  if (result.error) {
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new StoreError('MigrationFailed', `Migrating ${redactUrl(store.location)} failed: ${reason}`);
  }
  return result;
}
