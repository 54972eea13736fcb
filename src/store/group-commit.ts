/**
 * How a request's writes reach the store: in a transaction of their own, or, on SQLite, in a
 * transaction shared with the other requests that are waiting for one.
 *
 * SQLite commits one transaction at a time, and a commit writes every page the transaction touched
 * to the WAL. Requests that write at the same moment mostly touch the same pages (the rightmost
 * leaves of the id and time indexes, the counters), so committing them together writes those
 * pages once. Each request still runs alone, inside a savepoint of the shared transaction: its
 * failure rolls back its own changes only, and nobody is answered before the shared commit.
 */
import { sql, type Transaction } from 'kysely';
import { TurnBatcher } from '../turn-batcher.js';
import { type Database, type Db, newTransaction } from './database.js';
import type { Dialect } from './dialect.js';
import { isRetryableAbort } from './errors.js';
import { prepared } from './prepared.js';

export type TransactionRunner = <T>(work: (tx: Transaction<Database>) => Promise<T>) => Promise<T>;

/** Attempts of one piece of work that PostgreSQL keeps ending to break deadlocks. */
const DEADLOCK_ATTEMPTS = 3;

/**
 * Every call in a transaction of its own (PostgreSQL, where commits of many connections overlap).
 * A transaction that PostgreSQL ended to break a deadlock runs again from the start: it committed
 * nothing, and the work it then meets (a session another transaction deleted, say) is answered as
 * any request would be. Writers take rows in one order where they can (lockSessionQuota), but a
 * reset of everything or a transition racing a request can still meet another order.
 */
export function ownTransactions(db: Db): TransactionRunner {
  return async (work) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await newTransaction(db).execute(work);
      } catch (e) {
        if (!isRetryableAbort(e) || attempt >= DEADLOCK_ATTEMPTS) throw e;
      }
    }
  };
}

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

interface Waiting {
  readonly work: (tx: Transaction<Database>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Each member of a group runs inside `savepoint request`: two or three more statements per member,
 * built once (prepared.ts) so that they run at once instead of through Kysely's builder and queue.
 * Running at once, they do not wait for a statement the member left pending: every member's work
 * awaits each statement it issues before it settles (a write still queued would otherwise land
 * after its member's release, or be rolled back with the next member).
 */
const savepointStatement = (text: string) =>
  prepared((db, _p: Record<string, never>) => ({ compile: () => sql.raw(text).compile(db) }));
const SAVEPOINT = savepointStatement('savepoint request');
const ROLLBACK_TO = savepointStatement('rollback to request');
const RELEASE = savepointStatement('release request');
const NONE = {};

/** Bounds the time one request waits behind the others of its group. */
const MAX_GROUP = 64;

export class GroupCommit {
  private readonly groups = new TurnBatcher<Waiting>((group) => this.commit(group), MAX_GROUP);

  constructor(private readonly db: Db) {}

  readonly run: TransactionRunner = <T>(work: (tx: Transaction<Database>) => Promise<T>) =>
    new Promise<T>((resolve, reject) =>
      this.groups.add({ work, resolve: resolve as (value: unknown) => void, reject }),
    );

  private alone(w: Waiting): Promise<void> {
    return newTransaction(this.db).execute(w.work).then(w.resolve, w.reject);
  }

  private commit(group: Waiting[]): Promise<void> {
    const [first] = group;
    // Nobody to share with: a plain transaction, without the savepoint's two statements.
    if (first && group.length === 1) return this.alone(first);
    const outcomes: Outcome[] = [];
    return newTransaction(this.db)
      .execute(async (tx) => {
        for (const w of group) {
          await SAVEPOINT.run(tx, NONE);
          try {
            outcomes.push({ ok: true, value: await w.work(tx) });
          } catch (error) {
            await ROLLBACK_TO.run(tx, NONE);
            outcomes.push({ ok: false, error });
          }
          await RELEASE.run(tx, NONE);
        }
      })
      .then(
        () => {
          for (const [i, w] of group.entries()) {
            const o = outcomes[i];
            if (o?.ok) w.resolve(o.value);
            else w.reject(o ? o.error : new Error('request was not run'));
          }
        },
        () => {
          // Nothing of the group was committed. Every request runs again in a transaction of its
          // own, so that whatever ended the shared transaction (one request's write the engine
          // refused outright) ends only its own; a request that had failed inside the group runs
          // again too, since its failure may have come from another's writes that are now gone.
          for (const w of group) void this.alone(w);
        },
      );
  }
}

/** SQLite groups its writers; PostgreSQL gives each its own transaction. */
export function writesFor(db: Db, dialect: Dialect): TransactionRunner {
  return dialect === 'sqlite' ? new GroupCommit(db).run : ownTransactions(db);
}
