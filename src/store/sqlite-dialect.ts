/**
 * SQLite behind Kysely for the store: better-sqlite3 with immediate transactions, transactional
 * migrations, and one queue per file for the stores a process opens on it.
 */
import { realpathSync } from 'node:fs';
import type SqliteDatabase from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  type SqliteStatement,
} from 'kysely';

/** A promise chain used as a lock: each holder waits for every earlier one. */
export class FileLock {
  private tail: Promise<void> = Promise.resolve();
  users = 0;

  acquire(): Promise<() => void> {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return ready;
  }
}

/**
 * One lock per SQLite file in this process. Two stores on one file in one process (two in-process
 * nodes in tests, a second Lifecycle) would otherwise interleave their transactions on one thread:
 * the second writer then spins in SQLite's busy handler, blocking the very event loop the first
 * writer needs to commit, and fails with SQLITE_BUSY. With the lock they queue like the callers
 * of one store do.
 */
const fileLocks = new Map<string, FileLock>();

/**
 * better-sqlite3 behind Kysely, with two changes. Transactions begin IMMEDIATE: a transaction
 * that reads and then writes (a claim, a conditional update) takes the write lock up front, so
 * another process on the same file waits for it instead of failing with SQLITE_BUSY_SNAPSHOT
 * half-way. And the adapter declares transactional DDL, which SQLite has: the migrator then runs
 * all pending migrations in one transaction, so a crash mid-migration leaves the old schema, not
 * half of the new one.
 */
export class SqliteFileDialect extends SqliteDialect {
  private readonly lock: FileLock | undefined;
  private readonly file: SqliteDatabase.Database;
  private readonly statements: SqliteKyselyDatabase;
  /** A read transaction of this turn of the event loop is open (see runDirect). */
  private turnRead = false;
  /** Kysely connections asked for and not yet released: while there are any, no read turn opens. */
  private held = 0;

  constructor(file: SqliteDatabase.Database, lock: FileLock | undefined) {
    const statements = withStatementCache(file);
    super({ database: statements });
    this.lock = lock;
    this.file = file;
    this.statements = statements;
  }

  /**
   * Runs a compiled statement at once, without Kysely's connection queue, when that cannot change
   * what it sees or does: inside a transaction that already holds the connection, or outside any
   * transaction while none is open (SQLite runs one statement to its end, atomically). Undefined
   * when the statement has to queue: another transaction is open on the connection (its
   * uncommitted rows must stay invisible), or another store of this process shares the file.
   *
   * Reads outside a transaction share one read transaction, which ends at the event loop's check
   * phase, at freshReads (each request calls it first) or before anything writes. Each statement
   * in autocommit takes and drops the file's shared lock itself, three system calls that cost more
   * than an indexed read (a List by id runs three reads). A write, or anyone taking a Kysely
   * connection, ends that read transaction first, so every read still sees what this process
   * committed before it; a request sees every commit of another process made before it began.
   */
  runDirect(
    sql: string,
    parameters: readonly unknown[],
    inTransaction: boolean,
  ): QueryResult<unknown> | undefined {
    if (this.lock && this.lock.users > 1) return undefined;
    const statement = this.statements.prepare(sql);
    if (!inTransaction) {
      if (!statement.readOnly) {
        this.freshReads();
        if (this.file.inTransaction) return undefined;
      } else if (!this.file.inTransaction && this.held === 0) this.beginTurnRead();
      else if (this.file.inTransaction && !this.turnRead) return undefined;
    }
    if (statement.reader) return { rows: statement.all(parameters) };
    const r = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(r.changes), insertId: BigInt(r.lastInsertRowid) };
  }

  private beginTurnRead(): void {
    this.statements.prepare('begin').run([]);
    this.turnRead = true;
    setImmediate(() => this.freshReads());
  }

  /** Ends the shared read transaction, if one is open: the reads that follow see every commit. */
  freshReads(): void {
    if (!this.turnRead) return;
    this.turnRead = false;
    // A closed file reports no transaction.
    if (!this.file.inTransaction) return;
    // Never throws: it runs from setImmediate and before a connection is handed out. A transaction
    // that only read has nothing to lose. Should neither end it (an I/O error), it stays the turn's
    // and the next call tries again; until one succeeds, reads go on in it and writes queue for a
    // transaction, which then fails to begin.
    try {
      this.statements.prepare('commit').run([]);
    } catch {
      try {
        if (this.file.inTransaction) this.file.exec('rollback');
      } catch {}
      if (this.file.inTransaction) this.turnRead = true;
    }
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    const self = this;
    const lock = this.lock;
    const file = this.file;
    const releases: Array<() => void> = [];
    const acquire = async (): Promise<DatabaseConnection> => {
      if (!lock) return inner.acquireConnection();
      // The file lock matters only while another store of this process uses the same file; a
      // no-op release keeps releases in step with acquisitions when that changes meanwhile.
      if (lock.users <= 1) {
        const connection = await inner.acquireConnection();
        releases.push(() => undefined);
        return connection;
      }
      const release = await lock.acquire();
      try {
        const connection = await inner.acquireConnection();
        releases.push(release);
        return connection;
      } catch (e) {
        release();
        throw e;
      }
    };
    return {
      init: () => inner.init(),
      async acquireConnection() {
        // Before any await: no read turn may open between this and the connection's first statement.
        self.held++;
        self.freshReads();
        try {
          return await acquire();
        } catch (e) {
          self.held--;
          throw e;
        }
      },
      async beginTransaction(connection: DatabaseConnection) {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      },
      commitTransaction: (c) => inner.commitTransaction(c),
      // SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …);
      // a ROLLBACK then fails and its error would hide the one that ended the transaction.
      rollbackTransaction: async (c) => {
        if (file.inTransaction) await inner.rollbackTransaction(c);
      },
      savepoint: (c, name, compile) => inner.savepoint?.(c, name, compile) ?? Promise.resolve(),
      rollbackToSavepoint: (c, name, compile) =>
        inner.rollbackToSavepoint?.(c, name, compile) ?? Promise.resolve(),
      releaseSavepoint: (c, name, compile) => inner.releaseSavepoint?.(c, name, compile) ?? Promise.resolve(),
      async releaseConnection(connection: DatabaseConnection) {
        await inner.releaseConnection(connection);
        self.held--;
        // This driver has one holder at a time, so releases come in acquisition order.
        releases.shift()?.();
      },
      destroy: () => {
        self.freshReads();
        return inner.destroy();
      },
    };
  }

  override createAdapter(): DialectAdapter {
    return new (class extends SqliteAdapter {
      override get supportsTransactionalDdl(): boolean {
        return true;
      }
    })();
  }
}

/**
 * Kysely prepares every statement anew; preparing costs as much as running a small query, and the
 * same few statements run on every request. better-sqlite3 statements can be reused (and are
 * re-prepared by SQLite itself after a schema change); this driver runs one at a time, to the end.
 */
function withStatementCache(file: SqliteDatabase.Database): SqliteKyselyDatabase {
  const cache = new Map<string, CachedStatement>();
  return {
    close: () => {
      cache.clear();
      file.close();
    },
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = new CachedStatement(file.prepare(sql));
        // Queries built from lists (IN (?, ?, …)) vary in text; keep the cache bounded.
        if (cache.size >= 1000) cache.clear();
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

type Row = Record<string, unknown>;

/**
 * A reusable statement whose rows leave SQLite as arrays and become objects here. better-sqlite3
 * builds each row object key by key in C++; the arrays plus one object literal per row cost less:
 * a session by id in 7 µs instead of 10, a List page of 101 sessions in 0.36 ms instead of 0.73.
 *
 * Only statements whose text names every column they return: SQLite re-prepares a cached
 * statement after any schema change (another process may migrate the file), and a `*` may then
 * stand for other columns, or the same number of columns in another order or under other names,
 * which positions alone would not tell. Anything with a `*` in it keeps better-sqlite3's objects,
 * which carry the names of the moment.
 */
class CachedStatement implements SqliteStatement {
  readonly reader: boolean;
  /** Writes nothing (a reader may write: INSERT … RETURNING). */
  readonly readOnly: boolean;
  private readonly arrays: boolean;
  private toRow: RowBuilder | undefined;

  constructor(private readonly statement: SqliteDatabase.Statement) {
    this.reader = statement.reader;
    this.readOnly = statement.readonly;
    this.arrays = this.reader && !statement.source.includes('*');
    if (this.arrays) statement.raw(true);
  }

  all(parameters: readonly unknown[]): unknown[] {
    if (!this.arrays) return this.statement.all(parameters);
    const rows = this.statement.all(parameters) as unknown[][];
    if (rows.length === 0) return rows;
    const toRow = this.builder();
    const out = new Array<Row>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = toRow(rows[i] as unknown[]);
    return out;
  }

  run(parameters: readonly unknown[]): SqliteDatabase.RunResult {
    return this.statement.run(parameters);
  }

  *iterate(parameters: readonly unknown[]): IterableIterator<unknown> {
    if (!this.arrays) {
      yield* this.statement.iterate(parameters);
      return;
    }
    for (const values of this.statement.iterate(parameters) as IterableIterator<unknown[]>)
      yield this.builder()(values);
  }

  /**
   * The row builder for the statement's columns, made at the first row. Its text names them all,
   * so a schema change can only make the statement fail, never move its columns.
   */
  private builder(): RowBuilder {
    this.toRow ??= rowBuilder(this.statement.columns().map((c) => c.name));
    return this.toRow;
  }
}

/**
 * An object literal with the columns as keys, compiled once per statement: V8 then creates every
 * row with one shape, faster than setting the keys one by one in a loop. Keys are written as
 * computed string literals, so no column name can act as syntax or as `__proto__`; where two
 * columns share a name the later one wins, as better-sqlite3's own objects have it.
 */
type RowBuilder = (values: readonly unknown[]) => Row;

function rowBuilder(names: readonly string[]): RowBuilder {
  const fields = names.map((name, i) => `[${JSON.stringify(name)}]: values[${i}]`).join(', ');
  return new Function('values', `return { ${fields} };`) as RowBuilder;
}

type SqliteKyselyDatabase = Omit<Exclude<SqliteDialectConfig['database'], () => unknown>, 'prepare'> & {
  prepare(sql: string): CachedStatement;
};

/** Shares one lock among the stores of this process on the same SQLite file; returns the release. */
export function joinFileLock(location: string): { lock: FileLock; leave: () => void } {
  // The real path, as the nonce log keys it: two names of one file (a symlink) are one file here too.
  const key = realpathSync(location);
  const lock = fileLocks.get(key) ?? new FileLock();
  fileLocks.set(key, lock);
  lock.users++;
  return {
    lock,
    leave: () => {
      lock.users--;
      if (lock.users === 0 && fileLocks.get(key) === lock) fileLocks.delete(key);
    },
  };
}
