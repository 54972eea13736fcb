/**
 * Starts a real server in-process on a free loopback port, on a fresh SQLite file or a fresh
 * PostgreSQL schema, and hands out what a test needs to talk to it.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { ensureDefaultCredentials } from '../../src/accounts/bootstrap.js';
import { type App, createApp } from '../../src/app.js';
import { serverStoreOptions } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { listen, type RunningServer } from '../../src/server.js';
import { openStore, type Store } from '../../src/store/store.js';

export type StoreKind = 'sqlite' | 'postgres';

/** The store legs this run covers (set by scripts/run-tests.mjs). */
export function testStores(): StoreKind[] {
  const list = (process.env.VPCMIRROR_TEST_STORES ?? 'sqlite').split(',').map((s) => s.trim());
  return list.filter((s): s is StoreKind => s === 'sqlite' || s === 'postgres');
}

export function pgUrl(): string {
  return process.env.VPCMIRROR_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export interface TestServerOptions {
  readonly store?: StoreKind;
  /** Flags as `vpcmirror serve` takes them (kebab-case), e.g. { transitions: 'manual' }. */
  readonly flags?: Record<string, string | boolean>;
  /** Environment overrides (VPCMIRROR_*). */
  readonly env?: Record<string, string>;
  /** Share an existing database location (second node of a cluster). */
  readonly database?: { location: string; schema?: string };
  /** Keep the log lines (otherwise discarded). */
  readonly logSink?: string[];
}

export interface TestServer {
  readonly endpoint: string;
  readonly url: string;
  readonly port: number;
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly app: App;
  readonly store: Store;
  readonly storeKind: StoreKind;
  readonly dataDir: string;
  readonly database: { location: string; schema?: string };
  /** The HTTP listener, for tests of what happens on its connections. */
  readonly http: RunningServer;
  /** Applies every pending transition now (manual mode). */
  advance(filter?: { resourceType?: string; resourceId?: string }): Promise<number>;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const storeKind = options.store ?? 'sqlite';
  const dataDir = mkdtempSync(join(tmpdir(), 'vpcmirror-test-'));
  let database = options.database;
  const ownsDatabase = database === undefined;
  if (!database) {
    database =
      storeKind === 'postgres'
        ? { location: pgUrl(), schema: `t_${randomBytes(6).toString('hex')}` }
        : { location: join(dataDir, 'vpcmirror.sqlite') };
  }
  const config = loadConfig(
    { port: '0', 'data-dir': dataDir, database: database.location, 'log-level': 'info', ...options.flags },
    { ...options.env },
  );
  const lines = options.logSink;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines?.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger(config.logLevel, sink);
  // As `vpcmirror serve` opens it (a background checkpoint thread on SQLite).
  const store = await openStore({
    ...serverStoreOptions(config, log),
    ...(database.schema ? { schema: database.schema } : {}),
  });
  const creds = await ensureDefaultCredentials(
    store,
    dataDir,
    { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret },
    Date.now(),
  );
  const app = createApp(config, store, log);
  await app.start();
  let running: RunningServer;
  try {
    running = await listen(app, '127.0.0.1', 0);
  } catch (e) {
    await app.stop();
    await store.close();
    throw e;
  }
  const endpoint = `127.0.0.1:${running.port}`;
  return {
    endpoint,
    url: `${config.tls ? 'https' : 'http'}://${endpoint}`,
    port: running.port,
    accountId: creds.accountId,
    accessKeyId: creds.accessKeyId,
    accessKeySecret: creds.accessKeySecret,
    app,
    store,
    storeKind,
    dataDir,
    database,
    http: running,
    advance: (filter) => app.lifecycle.advance(filter),
    async close() {
      await running.close();
      await app.stop();
      if (ownsDatabase && database?.schema) {
        const schema = database.schema;
        const drop = (db: Store['db']) => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
        // A test may have closed the store under the app: the schema is then dropped on a connection of its own.
        await drop(store.db).catch(() => withPgAdmin(drop));
      }
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A PostgreSQL database of its own for a test that needs database-wide settings (a collation, a
 * default isolation): created with `create database … <options>`, then `settings` applied with
 * `alter database`; `drop()` removes it whatever connections it still has.
 */
export async function scratchPgDatabase(
  options: { readonly create?: string; readonly settings?: Readonly<Record<string, string>> } = {},
): Promise<{ location: string; drop(): Promise<void> }> {
  const name = `vpcmirror_${randomBytes(6).toString('hex')}`;
  const drop = (db: Store['db']) => sql`drop database if exists ${sql.id(name)} with (force)`.execute(db);
  await withPgAdmin(async (db) => {
    await sql`create database ${sql.id(name)} ${sql.raw(options.create ?? '')}`.execute(db);
    try {
      for (const [setting, value] of Object.entries(options.settings ?? {}))
        await sql`alter database ${sql.id(name)} set ${sql.id(setting)} = ${sql.lit(value)}`.execute(db);
    } catch (e) {
      await drop(db);
      throw e;
    }
  });
  const url = new URL(pgUrl());
  url.pathname = `/${name}`;
  return {
    location: url.href,
    drop: async () => {
      await withPgAdmin(drop);
    },
  };
}

/** Runs `work` on a connection of its own to the test database (schemas and databases of tests). */
export async function withPgAdmin<T>(work: (db: Store['db']) => Promise<T>): Promise<T> {
  const admin = await openStore({ location: pgUrl(), migrate: false });
  try {
    return await work(admin.db);
  } finally {
    await admin.close();
  }
}
