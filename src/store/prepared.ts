/**
 * Statements built once. Kysely builds and compiles a query from scratch on every call, which
 * costs several times what SQLite takes to run a small indexed query; the statements every request
 * runs are therefore written once with named placeholders, compiled once per dialect, and then
 * executed with fresh values only.
 *
 *   const byId = prepared((db, p: { id: string }) => db.selectFrom('t').selectAll().where('id', '=', p.id));
 *   const row = await byId.first(db, { id });
 *
 * The builder must hand each placeholder to Kysely as a value and nothing else: it runs once, with
 * markers in place of the values, and must not branch on them or take their length.
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Executor } from './database.js';

const MARK = '\u0000vpcmirror-placeholder:';

type Slot = { readonly name: string } | { readonly fixed: unknown };

interface Plan {
  readonly base: CompiledQuery;
  readonly slots: readonly Slot[];
}

/**
 * Runs a statement synchronously when the engine can (SQLite, see SqliteFileDialect.runDirect);
 * undefined sends it through Kysely's connection queue instead.
 */
export type DirectRunner = (
  sql: string,
  parameters: readonly unknown[],
  inTransaction: boolean,
) => QueryResult<unknown> | undefined;

const directRunners = new WeakMap<object, DirectRunner>();

/**
 * SQL texts of plans, with a name for each: PostgreSQL then parses and plans these statements once
 * per connection instead of on every call (see namedStatement). Every connection keeps what it
 * prepared until it closes, and List filters alone can make thousands of shapes, so only the first
 * MAX_NAMED texts get a name (the statements every request runs come first); later ones run
 * unnamed, as ad-hoc SQL does.
 */
const statementNames = new Map<string, string>();
const MAX_NAMED = 256;

/** The server-side name for a statement this module built, or undefined for any other SQL. */
export function namedStatement(text: string): string | undefined {
  return statementNames.get(text);
}

/** Lets prepared statements of this database (and its transactions) skip the queue when they can. */
export function registerDirectRunner(db: Executor, run: DirectRunner): void {
  directRunners.set(db.getExecutor().adapter, run);
}

export interface Prepared<P, O> {
  /** Every row. */
  all(db: Executor, params: P): Promise<O[]>;
  /** The first row, if any. */
  first(db: Executor, params: P): Promise<O | undefined>;
  /** Rows inserted, updated or deleted. */
  run(db: Executor, params: P): Promise<number>;
}

export function prepared<P extends object, O>(
  build: (db: Executor, params: P) => Compilable<O>,
): Prepared<P, O> {
  const markers = new Proxy(
    {},
    { get: (_target, name) => (typeof name === 'string' ? MARK + name : undefined) },
  ) as P;
  // One plan per dialect adapter: a transaction shares its database's adapter, and a store that
  // is closed takes its plans with it.
  const plans = new WeakMap<object, Plan>();

  function plan(db: Executor): Plan {
    const adapter = db.getExecutor().adapter;
    let p = plans.get(adapter);
    if (!p) {
      const base = build(db, markers).compile();
      if (base.sql.includes(MARK))
        throw new Error(`a placeholder was inlined into the SQL text: ${base.sql}`);
      const slots = base.parameters.map((v): Slot => {
        if (typeof v !== 'string' || !v.includes(MARK)) return { fixed: v };
        // A placeholder must reach Kysely untouched: `%${p.name}%` or p.n + 1 would bind text
        // that merely contains the marker.
        if (!v.startsWith(MARK)) throw new Error(`a placeholder was changed before binding: ${base.sql}`);
        return { name: v.slice(MARK.length) };
      });
      p = { base, slots };
      plans.set(adapter, p);
      if (!statementNames.has(base.sql) && statementNames.size < MAX_NAMED)
        statementNames.set(base.sql, `vpcmirror_${statementNames.size + 1}`);
    }
    return p;
  }

  async function execute(db: Executor, params: P): Promise<QueryResult<O>> {
    const { base, slots } = plan(db);
    const given = params as Record<string, unknown>;
    const values = slots.map((s) => {
      if (!('name' in s)) return s.fixed;
      if (!(s.name in given)) throw new Error(`no value for placeholder ${s.name} of: ${base.sql}`);
      return given[s.name];
    });
    const direct = directRunners.get(db.getExecutor().adapter)?.(base.sql, values, db.isTransaction);
    if (direct) return direct as QueryResult<O>;
    const query: CompiledQuery<O> = {
      sql: base.sql,
      query: base.query,
      queryId: base.queryId,
      parameters: values,
    };
    return db.executeQuery(query);
  }

  return {
    all: async (db, params) => (await execute(db, params)).rows,
    first: async (db, params) => (await execute(db, params)).rows[0],
    run: async (db, params) => Number((await execute(db, params)).numAffectedRows ?? 0n),
  };
}

/**
 * Prepared statements whose SQL text depends on a small shape: which optional filters a call
 * uses, or how many ids an IN list holds. One statement is built per shape met (the shape may
 * steer the builder; the values still may not), and the set is bounded.
 */
export function preparedShapes<S, P extends object, O>(
  keyOf: (shape: S) => string,
  build: (db: Executor, params: P, shape: S) => Compilable<O>,
  max = 512,
): (shape: S) => Prepared<P, O> {
  const byKey = new Map<string, Prepared<P, O>>();
  return (shape) => {
    const key = keyOf(shape);
    let p = byKey.get(key);
    if (!p) {
      if (byKey.size >= max) byKey.clear();
      p = prepared((db, params: P) => build(db, params, shape));
      byKey.set(key, p);
    }
    return p;
  };
}

/** Placeholder names of an IN list of n values: v0, v1, … */
export type ListParams = Readonly<Record<`v${number}`, string>>;

/**
 * The values of an IN list as placeholder parameters, added to `into` (a fresh object the caller
 * builds with its other parameters). Adding them to the caller's object rather than spreading a
 * list object into a literal matters on the request path: V8 takes about 13 µs to build
 * `{ ...listParams(ids), a, b, … }`, against well under 1 µs for this.
 */
export function listParams<T extends object = Record<never, never>>(
  values: readonly string[],
  into?: T,
): T & ListParams {
  const out = (into ?? {}) as Record<string, unknown>;
  for (let i = 0; i < values.length; i++) out[`v${i}`] = values[i];
  return out as T & ListParams;
}

/** The placeholders of an IN list of n values, for a builder. */
export function listOf(params: ListParams, n: number): string[] {
  return Array.from({ length: n }, (_, i) => params[`v${i}`] ?? '');
}
