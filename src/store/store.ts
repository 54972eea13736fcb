/**
 * Opens the store: an embedded SQLite file (default) or a PostgreSQL database shared by several
 * nodes, behind one Kysely instance. Migrations run here, and a database that is newer than this
 * code is refused rather than silently misread.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  type MigrationResultSet,
  Migrator,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  sql,
} from 'kysely';
import type pg from 'pg';
import { Checkpointer, SQLITE_DEFAULT_CHECKPOINT_PAGES } from './checkpointer.js';
import { type Database, type Db, newTransaction } from './database.js';
import type { Dialect } from './dialect.js';
import { isRetryableAbort, StoreError } from './errors.js';
import { ownTransactions, type TransactionRunner } from './group-commit.js';
import { migrations } from './migrations/index.js';
import { holdsNonceLog, joinNonceLog, lockNonceLog, unlockNonceLog } from './nonce-log.js';
import { namedStatement, registerDirectRunner } from './prepared.js';
import { type FileLock, joinFileLock, SqliteFileDialect } from './sqlite-dialect.js';

export { StoreError } from './errors.js';

export interface StoreOptions {
  /** `postgres://…` for PostgreSQL; otherwise the path of the SQLite file. */
  location: string;
  /** PostgreSQL only: a schema to use instead of `public` (tests isolate themselves this way). */
  schema?: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
  /**
   * SQLite file only: checkpoint the write-ahead log on a thread of its own (checkpointer.ts),
   * reporting failures to `onError`. A server wants this; a short command does not.
   */
  backgroundCheckpoints?: { readonly intervalMs?: number; readonly onError: (message: string) => void };
  /** PostgreSQL only: told about each pooled connection that broke (it is replaced, not fatal). */
  onConnectionError?: (message: string) => void;
  /** PostgreSQL only: the lock timeout instead of lockTimeoutFor(the statement deadline) (tests). */
  pgLockTimeoutMs?: number;
  /** PostgreSQL only: the statement deadline instead of PG_STATEMENT_DEADLINE_MS (tests). */
  pgStatementDeadlineMs?: number;
  /** PostgreSQL only: how soon a lost node claim is taken again, instead of NODE_RECLAIM_MS (tests). */
  pgNodeReclaimMs?: number;
  /**
   * Runs once the store is open and before it is migrated: a server takes its SQLite file's lock
   * here, so that a second server on a file a live one serves stops before changing its schema.
   */
  beforeMigrate?: (store: Store) => void;
}

/** How long a PostgreSQL statement waits for a lock another transaction holds. */
export const PG_LOCK_TIMEOUT_MS = 20_000;
/** How long a PostgreSQL session may sit idle inside an open transaction before it is ended. */
export const PG_IDLE_IN_TRANSACTION_MS = 60_000;
/** How long a request waits to open a PostgreSQL connection, or for one of the pool's to be free. */
export const PG_CONNECT_TIMEOUT_MS = 30_000;
/**
 * How long a statement may go unanswered before its connection is given up. Longer than the lock
 * timeout, so that a wait for a lock ends as PostgreSQL's own error first; what this catches is a
 * connection that went silent (a failover, a host gone, a network path dropped), on which the
 * answer never comes and TCP would notice only after about fifteen minutes.
 */
export const PG_STATEMENT_DEADLINE_MS = 30_000;

const LOCK_WAIT_MARGIN_MS = 10_000;

/**
 * The lock timeout under a statement deadline: PG_LOCK_TIMEOUT_MS at most, and at least 10 s or
 * half the deadline short of it, so that a lock wait ends as PostgreSQL's own error (the
 * connection kept) well before the deadline gives the connection up as silent.
 */
export function lockTimeoutFor(statementDeadlineMs: number): number {
  const margin = Math.min(LOCK_WAIT_MARGIN_MS, Math.ceil(statementDeadlineMs / 2));
  return Math.max(1, Math.min(PG_LOCK_TIMEOUT_MS, statementDeadlineMs - margin));
}

/** The statements that lift, and put back, the lock timeout for a migration (migrateOnce). */
const UNLIMITED_LOCK_WAIT = 'set lock_timeout = 0';
const LIMITED_LOCK_WAIT = 'reset lock_timeout';

export interface Store {
  readonly db: Db;
  readonly dialect: Dialect;
  readonly location: string;
  /** Set when the SQLite file is checkpointed in the background. */
  readonly checkpointer: Checkpointer | undefined;
  /**
   * Holds the node id for this process until the returned release is called (nodeClaim below);
   * refused with StoreError NodeIdInUse while another live process holds it.
   */
  claimNode(nodeId: string, onLost: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * Lets the reads that follow see every commit made so far, by any process: SQLite's reads
   * outside a transaction otherwise share one snapshot until the event loop's check phase
   * (SqliteFileDialect.runDirect). Nothing to do on PostgreSQL, whose statements each see the latest.
   */
  freshReads(): void;
  /**
   * A transaction whose statements may each change any number of rows (the admin reset). On
   * SQLite its statement journals go to a temporary file, where a request's stay in memory.
   */
  readonly largeTransaction: TransactionRunner;
  close(): Promise<void>;
}

let driver: Promise<typeof pg> | undefined;

/**
 * node-postgres, loaded by the first PostgreSQL store: a server on SQLite never uses it, and its
 * modules would stay in that server's heap for nothing.
 */
function postgresDriver(): Promise<typeof pg> {
  driver ??= import('pg').then(({ default: loaded }) => {
    // int8 columns (bigint times, bigserial seq) come back as strings; all our values fit a double.
    loaded.types.setTypeParser(20, (v) => Number(v));
    return loaded;
  });
  return driver;
}

/** Whether a store is there: an SQLite file that exists, or any PostgreSQL database (not looked at). */
export function storeExists(location: string): boolean {
  return isPostgresUrl(location) || existsSync(location);
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

export function redactUrl(location: string): string {
  return isPostgresUrl(location) ? location.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@') : location;
}

/**
 * Connects once as the store opens, so that a database that is not there or turns us away is
 * reported as that, in one line, instead of as whatever the first query happened to be doing. The
 * connection goes back to the pool for the first request.
 */
async function firstConnection(pool: pg.Pool, location: string): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    // PgBouncer answers so for the `options` that carries the timeouts above.
    const pooler = /unsupported startup parameter/.test(reason)
      ? '; a connection pooler in between must let it through or ignore it (PgBouncer: ignore_startup_parameters = options, with the timeouts set on the role; see docs/architecture.md)'
      : '';
    throw new StoreError(
      'DatabaseUnavailable',
      `cannot connect to ${redactUrl(location)}: ${reason}${pooler}`,
    );
  }
  client.release();
}

/**
 * The claim's own connection. Named, so that pg_stat_activity shows which connection holds which
 * node's id. A host that goes away without closing it (power lost, a network cut) would otherwise
 * keep the id held until PostgreSQL's TCP keepalive gives up, two hours by default: the claim's
 * connection is probed after 10 s of silence and given up after 3 unanswered probes 5 s apart.
 */
export function nodeClaimConnection(connection: pg.ClientConfig, nodeId: string): pg.ClientConfig {
  const keepalive = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';
  return {
    ...connection,
    application_name: `vpcmirror node ${nodeId}`,
    options: [connection.options, keepalive].filter(Boolean).join(' '),
  };
}

/** How long a node whose claim's connection broke waits before taking the claim again. */
const NODE_RECLAIM_MS = 5_000;
/** How long a start tries to take a node id that another process holds before it is refused. */
const NODE_CLAIM_WAIT_MS = 3_000;

/**
 * Two live processes with one node id would each take the other's ClientToken claims for its own:
 * a start frees the claims its id left processing, and they are the other's, still running. So
 * the id is held as a PostgreSQL advisory lock (per database and schema) on a connection of its
 * own: PostgreSQL lets it go as soon as that connection ends, which a process killed with -9 does
 * at once, so a restart is not kept waiting. When the connection breaks the lock is taken again;
 * a node that finds it taken by then says so through onLost.
 */
async function nodeClaim(
  connection: pg.ClientConfig,
  location: string,
  nodeId: string,
  onLost: (message: string) => void,
  reclaimMs: number,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let released = false;
  let retry: NodeJS.Timeout | undefined;
  const take = async (): Promise<boolean> => {
    const c = new (await postgresDriver()).Client(nodeClaimConnection(connection, nodeId));
    c.on('error', () => {});
    let r: pg.QueryResult<{ held: boolean }>;
    try {
      await c.connect();
      r = await c.query<{ held: boolean }>(
        `select pg_try_advisory_lock(('x' || substr(md5('vpcmirror node' || chr(10) || current_schema() || chr(10) || $1), 1, 16))::bit(64)::bigint) as held`,
        [nodeId],
      );
    } catch (e) {
      await c.end().catch(() => {});
      throw e;
    }
    if (r.rows[0]?.held !== true || released) {
      await c.end().catch(() => {});
      return false;
    }
    client = c;
    c.on('end', () => {
      if (client !== c || released) return;
      client = undefined;
      onLost(`the connection holding node id ${nodeId} ended; taking it again`);
      schedule();
    });
    return true;
  };
  const schedule = () => {
    retry = setTimeout(() => {
      take().then(
        (held) => {
          if (!held && !released)
            onLost(
              `node id ${nodeId} is now held by another process: two nodes with one id take each other's ClientToken claims; stop one and give each its own --node-id`,
            );
        },
        (e: unknown) => {
          if (released) return;
          onLost(
            `node id ${nodeId} could not be taken again (${e instanceof Error ? e.message : String(e)}); trying again`,
          );
          schedule();
        },
      );
    }, reclaimMs);
    retry.unref();
  };
  // A process killed a moment ago may still hold the id until PostgreSQL reads the end of its
  // connection: a restart right after waits that long instead of being refused.
  const giveUpAt = Date.now() + NODE_CLAIM_WAIT_MS;
  let held = false;
  for (;;) {
    try {
      held = await take();
    } catch (e) {
      throw new StoreError(
        'DatabaseUnavailable',
        `cannot connect to ${redactUrl(location)}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (held || Date.now() >= giveUpAt) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!held)
    throw new StoreError(
      'NodeIdInUse',
      `another running node uses the node id ${nodeId} on this database: give each node its own --node-id (VPCMIRROR_NODE_ID) or data directory (a node whose host went away holds it until PostgreSQL notices: within about 30 s on a direct connection)`,
    );
  return async () => {
    released = true;
    clearTimeout(retry);
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };
}

async function createSchema(db: Db, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (e) {
    // Two nodes starting together race on the catalog even with IF NOT EXISTS; losing is fine.
    const exists = await sql`select 1 from pg_namespace where nspname = ${schema}`.execute(db);
    if (exists.rows.length === 0) throw e;
  }
}

/**
 * The pool as Kysely sees it, except that the statements built once (prepared.ts) run as named
 * statements: node-postgres then has each connection parse and plan them once, and later calls
 * send only the values. Any other SQL runs as before.
 */
function namingPool(pool: pg.Pool, deadlineMs: number): PostgresPool {
  // One wrapper per pooled connection: Kysely keeps its own connection object per client it is
  // handed, so a new wrapper at every checkout would make it build a new one each time.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  // Connections migrating (no deadline: a migration of a large table takes what it takes), and
  // connections given up on (destroyed, and not handed out again).
  const unlimited = new WeakSet<pg.PoolClient>();
  const givenUp = new WeakSet<pg.PoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    function query<R>(text: string, values: readonly unknown[]): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query(text: string | PostgresCursor<unknown>, values?: readonly unknown[]): unknown {
      // Kysely passes a cursor only to stream, which this store never does; it goes through as is.
      if (typeof text !== 'string') return client.query(text as unknown as pg.Submittable);
      if (text === UNLIMITED_LOCK_WAIT) unlimited.add(client);
      else if (text === LIMITED_LOCK_WAIT) unlimited.delete(client);
      const name = namedStatement(text);
      // Kysely hands over a fresh array, which node-postgres only reads.
      const args = (values ?? []) as unknown[];
      const running = client.query(
        name === undefined ? { text, values: args } : { name, text, values: args },
      );
      return unlimited.has(client) ? running : withDeadline(client, running);
    }
    return { query, release: (destroy?: boolean) => client.release(destroy === true || givenUp.has(client)) };
  };
  function withDeadline<T>(client: pg.PoolClient, running: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        givenUp.add(client);
        // The answer is not coming on this connection: close it, which also fails at once what
        // the transaction would still send on it (its rollback).
        (
          client as unknown as { connection?: { stream?: { destroy(): void } } }
        ).connection?.stream?.destroy();
        reject(
          Object.assign(
            new Error(`PostgreSQL did not answer within ${deadlineMs} ms; the connection was dropped`),
            {
              code: 'ETIMEDOUT',
            },
          ),
        );
      }, deadlineMs);
      running.then(
        (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

export async function openStore(options: StoreOptions & { migrate?: boolean }): Promise<Store> {
  const dialect: Dialect = isPostgresUrl(options.location) ? 'postgres' : 'sqlite';
  let db: Db;
  let leave = () => {};
  let checkpointer: Checkpointer | undefined;
  let migrated = () => {};
  let freshReads = () => {};
  let largeTransaction: TransactionRunner | undefined;
  let claimNode: Store['claimNode'] = async () => async () => {};
  // Released when the store closes, so that a start that fails after its claim lets the id go.
  const claims = new Set<() => Promise<void>>();
  if (dialect === 'postgres') {
    const deadline = options.pgStatementDeadlineMs ?? PG_STATEMENT_DEADLINE_MS;
    const settings = [
      ...(options.schema ? [`-c search_path=${options.schema}`] : []),
      // A row lock held by a stuck or dead peer must not hold every connection of the pool, and
      // with them every request of this node: such a wait ends as ServiceUnavailable instead.
      `-c lock_timeout=${options.pgLockTimeoutMs ?? lockTimeoutFor(deadline)}`,
      // A node that dies inside a transaction releases its locks when PostgreSQL notices, not
      // when TCP keepalive does (hours by default).
      `-c idle_in_transaction_session_timeout=${PG_IDLE_IN_TRANSACTION_MS}`,
    ];
    // The level the writers' locking is made for, also for the statements that run outside an
    // explicit transaction (a ClientToken claim, a nonce batch), whatever the database, the role
    // or the URL sets: sent after the URL's options, so that none of them overrides it.
    const fixed = ['-c default_transaction_isolation=read\\ committed'];
    // node-postgres takes the URL's own `options` over the one given here: both are sent, the
    // URL's last, so that a setting the URL names (a search_path, a longer lock timeout) wins.
    const url = new URL(options.location);
    const fromUrl = url.searchParams.get('options');
    if (fromUrl !== null) url.searchParams.delete('options');
    const connection: pg.ClientConfig = {
      connectionString: fromUrl === null ? options.location : url.href,
      options: [...settings, ...(fromUrl ? [fromUrl] : []), ...fixed].join(' '),
      connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
    const pool = new (await postgresDriver()).Pool({ ...connection, max: options.poolSize ?? 10 });
    claimNode = async (nodeId, onLost) => {
      const release = await nodeClaim(
        connection,
        options.location,
        nodeId,
        onLost,
        options.pgNodeReclaimMs ?? NODE_RECLAIM_MS,
      );
      claims.add(release);
      return async () => {
        claims.delete(release);
        await release();
      };
    };
    // A connection that breaks (PostgreSQL restarting or failing over, a peer killing it) is an
    // 'error' event on the pool when idle and on the client while checked out; unheard, either
    // would end the process. The query it was running, if any, fails by itself and its request
    // answers ServiceUnavailable; the pool opens a new connection for the next one.
    const connectionError = (err: Error) => options.onConnectionError?.(err.message);
    pool.on('error', connectionError);
    pool.on('connect', (client) => client.on('error', connectionError));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: namingPool(pool, deadline) }) });
    try {
      await firstConnection(pool, options.location);
      if (options.schema) await createSchema(db, options.schema);
    } catch (e) {
      await db.destroy();
      throw e;
    }
  } else {
    const file = openSqliteFile(options.location);
    if (options.location !== ':memory:') ownerOnlyCompanions(options.location);
    let lock: FileLock | undefined;
    if (options.location !== ':memory:') ({ lock, leave } = joinFileLock(options.location));
    const background = options.backgroundCheckpoints;
    if (background && options.location !== ':memory:') {
      const setInlineLimit = (pages: number): void => {
        if (file.open) file.pragma(`wal_autocheckpoint = ${pages}`);
      };
      try {
        checkpointer = new Checkpointer({
          file: options.location,
          intervalMs: background.intervalMs ?? 10,
          setInlineLimit,
          onError: background.onError,
        });
      } catch (e) {
        // No thread (a resource limit, say): SQLite checkpoints inside the commits, as by default.
        setInlineLimit(SQLITE_DEFAULT_CHECKPOINT_PAGES);
        background.onError(
          `the checkpoint thread could not start: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    // A write's savepoint (group-commit.ts) keeps the pages it changes in a statement journal,
    // which SQLite spills to a temporary file past 64 KiB: some thirty writes of a page for each
    // Create. In memory they cost nothing. Set once this store migrated the file: a migration's
    // sort (an index built over a large table) may need its temporary files on disk, while a
    // request sorts at most a page (SQLite keeps only the rows within a LIMIT) or the rows of one
    // resource, and writes the rows of one resource. A large transaction puts them back on disk.
    let tempInMemory = false;
    migrated = () => {
      file.pragma('temp_store = MEMORY');
      tempInMemory = true;
    };
    const sqlite = new SqliteFileDialect(file, lock);
    freshReads = () => sqlite.freshReads();
    const sqliteDb = new Kysely<Database>({ dialect: sqlite });
    db = sqliteDb;
    largeTransaction = (work) =>
      sqliteDb.connection().execute(async (connection) => {
        if (!tempInMemory) return newTransaction(connection).execute(work);
        await sql`pragma temp_store = FILE`.execute(connection);
        try {
          return await newTransaction(connection).execute(work);
        } finally {
          await sql`pragma temp_store = MEMORY`.execute(connection);
        }
      });
    registerDirectRunner(db, (text, parameters, inTransaction) =>
      sqlite.runDirect(text, parameters, inTransaction),
    );
    const leaveFile = leave;
    const leaveNonces = joinNonceLog(db, options.location, file);
    leave = () => {
      leaveNonces();
      leaveFile();
    };
  }
  const store: Store = {
    db,
    dialect,
    location: options.location,
    checkpointer,
    claimNode,
    freshReads,
    largeTransaction: largeTransaction ?? ownTransactions(db),
    close: async () => {
      // The worker's connection goes first: the last one to close checkpoints and removes the log.
      try {
        await Promise.all([...claims].map((release) => release()));
        claims.clear();
        await checkpointer?.stop();
        await db.destroy();
      } finally {
        leave();
      }
    },
  };
  try {
    options.beforeMigrate?.(store);
    if (options.migrate !== false) {
      await migrateToLatest(store).catch(async (e: unknown) => {
        // Still "schema … does not exist" after migrateToLatest's own attempts: perhaps our own
        // schema was dropped under us. Made again, then one more round of attempts.
        if (!isSchemaRace(store, e)) throw e;
        if (options.schema) await createSchema(db, options.schema);
        await migrateToLatest(store);
      });
      migrated();
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/**
 * The SQLite file, opened as the store wants it. A path that is not one (its directory a file, a
 * file that is not a database, no permission) is one line naming it, and a file that was there is
 * made owner-only only once SQLite has taken it as a database: a mistyped path to someone's
 * document keeps its mode.
 */
function openSqliteFile(location: string): SqliteDatabase.Database {
  const inMemory = location === ':memory:';
  const existed = !inMemory && existsSync(location);
  let file: SqliteDatabase.Database | undefined;
  try {
    if (!inMemory && !existed) ownerOnlyFile(location);
    file = new SqliteDatabase(location);
    // WAL keeps readers off the writer's back; NORMAL sync is durable across process crashes
    // (kill -9), which is the failure this store promises to survive.
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = NORMAL');
    file.pragma('busy_timeout = 5000');
    file.pragma('foreign_keys = ON');
    if (existed) tighten(location);
    return file;
  } catch (e) {
    file?.close();
    throw new StoreError(
      'DatabaseUnavailable',
      `cannot open ${location} as an SQLite store: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * The SQLite file holds every AccessKey secret, so it is created owner-only (0600) before SQLite
 * opens it, and a directory made for it is 0700. An existing directory is left alone: it may be
 * shared (`--database /tmp/x.sqlite`), and the files in it are protected either way.
 */
function ownerOnlyFile(location: string): void {
  const dir = dirname(location);
  const madeDir = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (madeDir !== undefined) chmodSync(dir, 0o700);
  closeSync(openSync(location, 'a', 0o600));
  tighten(location);
}

function tighten(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch (e) {
    // Missing: SQLite creates it later with the main file's mode. Someone else's file: not ours to change.
    if (!(e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'EPERM'))) throw e;
  }
}

/** SQLite creates -wal/-shm with the main file's mode; older files are tightened here too. */
function ownerOnlyCompanions(location: string): void {
  for (const suffix of ['-wal', '-shm']) tighten(`${location}${suffix}`);
}

/**
 * The PostgreSQL schema the store works in (the first of its search_path). The migrator must be
 * told: it looks for its own tables in every schema of the database, so a `kysely_migration`
 * table in another schema (another node group, another test) would make it skip creating its own.
 */
async function currentSchema(store: Store): Promise<string | undefined> {
  if (store.dialect !== 'postgres') return undefined;
  const r = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(store.db);
  return r.rows[0]?.schema ?? 'public';
}

function migrator(store: Store, schema: string | undefined, db: Db = store.db): Migrator {
  const all: Record<string, Migration> = migrations(store.dialect);
  return new Migrator({
    db,
    provider: { getMigrations: async () => all },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/** Names of migrations the database has applied that this code does not know. */
async function unknownApplied(store: Store, schema: string | undefined): Promise<string[]> {
  const known = new Set(Object.keys(migrations(store.dialect)));
  const table = schema ? sql.id(schema, 'kysely_migration') : sql.id('kysely_migration');
  const unknownInCode: string[] = [];
  try {
    const rows = await sql<{ name: string }>`select name from ${table}`.execute(store.db);
    for (const r of rows.rows) if (!known.has(r.name)) unknownInCode.push(r.name);
  } catch {
    // No migration table yet: a fresh database.
  }
  return unknownInCode;
}

/**
 * Applies every pending migration. Kysely's migrator looks at every table of every schema of the
 * database; a schema another node group or a parallel test drops during that look fails it with
 * `schema "…" does not exist` before anything was migrated, so that is tried again, twice at most.
 */
export async function migrateToLatest(store: Store): Promise<MigrationResultSet> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(store);
    } catch (e) {
      // A migration that met a writer of an older node in a deadlock was rolled back whole.
      const deadlocked = e instanceof StoreError && e.code === 'MigrationDeadlock';
      if ((!isSchemaRace(store, e) && !deadlocked) || attempt >= 3) throw e;
    }
  }
}

function isSchemaRace(store: Store, e: unknown): boolean {
  return (
    store.dialect === 'postgres' && e instanceof StoreError && /schema ".*" does not exist/.test(e.message)
  );
}

/** Each migration this code knows, and when the store applied it (null: pending); then any the store has from newer code. */
export async function migrationStatus(
  store: Store,
): Promise<{ known: { name: string; appliedAt: Date | null }[]; newer: string[] }> {
  const schema = await currentSchema(store);
  const applied = await migrator(store, schema).getMigrations();
  return {
    known: applied.map((m) => ({ name: m.name, appliedAt: m.executedAt ?? null })),
    newer: await unknownApplied(store, schema),
  };
}

async function migrateOnce(store: Store): Promise<MigrationResultSet> {
  const schema = await currentSchema(store);
  const newer = await unknownApplied(store, schema);
  if (newer.length > 0) {
    throw new StoreError(
      'DatabaseTooNew',
      `The database at ${redactUrl(store.location)} was migrated by a newer vpcmirror (unknown migrations: ${newer.join(', ')}). Upgrade vpcmirror or point it at another database.`,
    );
  }
  const unlock = store.dialect === 'sqlite' ? await lockToMigrate(store, schema) : undefined;
  const result = await migrateUnder(store, schema).finally(() => unlock?.());
  if (result.error) {
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new StoreError(
      isRetryableAbort(result.error) ? 'MigrationDeadlock' : 'MigrationFailed',
      `Migrating ${redactUrl(store.location)} failed: ${reason}`,
    );
  }
  return result;
}

function migrateUnder(store: Store, schema: string | undefined): Promise<MigrationResultSet> {
  if (store.dialect !== 'postgres') return migrator(store, schema).migrateToLatest();
  // A node starting beside another that is migrating a large database waits for it as long as
  // that takes: on the migrating connection alone, locks have no timeout.
  return store.db.connection().execute(async (conn) => {
    await sql.raw(UNLIMITED_LOCK_WAIT).execute(conn);
    try {
      return await migrator(store, schema, conn).migrateToLatest();
    } finally {
      await sql.raw(LIMITED_LOCK_WAIT).execute(conn);
    }
  });
}

/**
 * A live server holds its SQLite file's lock (nonce-log.ts) for as long as it runs. Migrating the
 * file under it would leave it on a schema it does not know, so a store with migrations to apply
 * takes the lock for them, unless this process holds it already (a server takes it before it
 * migrates); the returned function gives it back. With nothing to apply, nothing is locked: the
 * account commands work beside a running server of the same version.
 */
async function lockToMigrate(store: Store, schema: string | undefined): Promise<(() => void) | undefined> {
  if (holdsNonceLog(store.db)) return undefined;
  const pending = (await migrator(store, schema).getMigrations()).filter((m) => m.executedAt === undefined);
  if (pending.length === 0) return undefined;
  try {
    lockNonceLog(store.db);
  } catch (e) {
    if (!(e instanceof StoreError && e.code === 'StoreLocked')) throw e;
    throw new StoreError(
      'StoreLocked',
      `another vpcmirror process holds ${store.location} (a running server, or a command applying migrations), and this version has migrations the file lacks (${pending.map((m) => m.name).join(', ')}): stop that server first, then run this again (or start this version's server, which applies them)`,
    );
  }
  return () => unlockNonceLog(store.db);
}
