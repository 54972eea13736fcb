/**
 * Durable asynchronous transitions. A mutation that leaves a resource in Creating, Modifying or
 * Deleting stores one row in `transitions` with the time it falls due, inside the mutation's own
 * transaction; a worker on every node applies due rows. A crash between the two loses nothing: the
 * row is still there when any node starts again.
 *
 * Each row is applied exactly once even with several nodes: the applying transaction claims the
 * row by deleting it (PostgreSQL: skipping rows locked by another node) before calling the
 * resource's applier.
 */
import type { Logger } from 'pino';
import type { TransitionDelay, TransitionTiming } from '../config.js';
import type { Db, Executor } from '../store/database.js';
import type { Dialect } from '../store/dialect.js';
import { ownTransactions, type TransactionRunner } from '../store/group-commit.js';
import { prepared } from '../store/prepared.js';

export const RESOURCE_KINDS = ['session', 'filter', 'rule'] as const;

/** A transition's delay when no setting names one, as the server's own default (`default=1s`). */
export const DEFAULT_DELAY_MS = 1000;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];
export type TransitionKind = 'ready' | 'delete';
export type TimedAction = 'create' | 'update' | 'delete';

export interface Appliers {
  /** Creating/Modifying -> Created. */
  ready(tx: Executor, resourceId: string): Promise<void>;
  /** Deleting -> gone. */
  delete(tx: Executor, resourceId: string): Promise<void>;
}

export interface PendingTransition {
  resourceType: string;
  resourceId: string;
  kind: string;
  dueAt: number | null;
}

interface ScheduleParams {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly kind: string;
  readonly dueAt: number;
  readonly action: string;
}

/** Every asynchronous change writes one of these; a manual transition has no due time. */
function scheduleStatement(manual: boolean) {
  return prepared((db, p: ScheduleParams) => {
    const dueAt = manual ? null : p.dueAt;
    return db
      .insertInto('transitions')
      .values({
        resource_type: p.resourceType,
        resource_id: p.resourceId,
        kind: p.kind,
        due_at: dueAt,
        action: p.action,
      })
      .onConflict((oc) =>
        oc
          .columns(['resource_type', 'resource_id'])
          .doUpdateSet({ kind: p.kind, due_at: dueAt, action: p.action }),
      );
  });
}

const scheduleTimed = scheduleStatement(false);
const scheduleManual = scheduleStatement(true);

interface TransitionKey {
  readonly resourceType: string;
  readonly resourceId: string;
}

/**
 * Claims a transition row by deleting it and returning what it held, in four forms: due by a time
 * or due at all (a manual advance), and on PostgreSQL only a row no other node has locked (FOR
 * UPDATE SKIP LOCKED), so that a node skips rows another node is applying instead of waiting for
 * them. One statement, not a read and then a delete: on PostgreSQL each is a round trip.
 */
function claimStatement(due: boolean, skipLocked: boolean) {
  return prepared((db, p: TransitionKey & { dueBefore: number }) => {
    let q = db
      .deleteFrom('transitions')
      .where('resource_type', '=', p.resourceType)
      .where('resource_id', '=', p.resourceId);
    if (skipLocked) {
      let free = db
        .selectFrom('transitions')
        .select('resource_id')
        .where('resource_type', '=', p.resourceType)
        .where('resource_id', '=', p.resourceId);
      if (due) free = free.where('due_at', '<=', p.dueBefore);
      q = q.where('resource_id', 'in', free.forUpdate().skipLocked());
    } else if (due) q = q.where('due_at', '<=', p.dueBefore);
    return q.returningAll();
  });
}

const claimStatements = {
  sqlite: { due: claimStatement(true, false), any: claimStatement(false, false) },
  postgres: { due: claimStatement(true, true), any: claimStatement(false, true) },
} as const;

const transitionDelete = prepared((db, p: TransitionKey) =>
  db
    .deleteFrom('transitions')
    .where('resource_type', '=', p.resourceType)
    .where('resource_id', '=', p.resourceId),
);

/**
 * The next due transitions, oldest first, a page at a time, after the last one a pass tried: rows
 * that fail stay behind it instead of being selected again ahead of the ones after them.
 */
const DUE_PAGE = 100;
const dueTransitions = prepared(
  (db, p: { now: number; afterDue: number; afterType: string; afterId: string }) =>
    db
      .selectFrom('transitions')
      .select(['resource_type', 'resource_id', 'due_at'])
      .where('due_at', '<=', p.now)
      // A row value, so that both engines start the index scan (transitions_due_order) right there.
      .where((eb) =>
        eb(
          eb.refTuple('due_at', 'resource_type', 'resource_id'),
          '>',
          eb.tuple(p.afterDue, p.afterType, p.afterId),
        ),
      )
      .orderBy('due_at')
      .orderBy('resource_type')
      .orderBy('resource_id')
      .limit(DUE_PAGE),
);

/** A transition that failed waits this long before this node tries it again, doubling to the cap. */
const RETRY_FIRST_MS = 1_000;
const RETRY_CAP_MS = 60_000;
/** How many failing transitions the pauses are remembered for, at most. */
const RETRY_MEMORY = 10_000;

export class Lifecycle {
  private readonly appliers = new Map<string, Appliers>();
  private timing: TransitionTiming;
  private timer: NodeJS.Timeout | undefined;
  private wake: NodeJS.Timeout | undefined;
  private wakeDueAt = 0;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** Set by stop(): a pass of the worker under way ends at its next claim. */
  private stopping = false;
  /** Transitions whose last attempt on this node failed: when to try again, and how often it failed. */
  private readonly failing = new Map<string, { retryAt: number; failures: number }>();

  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
    timing: TransitionTiming,
    private readonly clock: () => number,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** Where claims run: the app shares its runner, so on SQLite they join the requests' commits. */
    private readonly writes: TransactionRunner = ownTransactions(db),
    /** How many failing transitions the pauses are remembered for (RETRY_MEMORY; tests). */
    private readonly retryMemory = RETRY_MEMORY,
  ) {
    this.timing = { ...timing };
  }

  register(resourceType: ResourceKind, appliers: Appliers): void {
    this.appliers.set(resourceType, appliers);
  }

  /** The delays in force, the default included even when nobody set it. */
  getTiming(): TransitionTiming {
    return { default: DEFAULT_DELAY_MS, ...this.timing };
  }

  /** Replaces some or all delays on this node (admin endpoint). */
  setTiming(patch: TransitionTiming, replace = false): void {
    this.timing = replace ? { ...patch } : { ...this.timing, ...patch };
  }

  /**
   * setTiming, and then transitions waiting for a manual advance whose action this node now times
   * get a due time, as at a start with these settings; returns how many.
   */
  retime(patch: TransitionTiming, replace = false): Promise<number> {
    this.setTiming(patch, replace);
    return this.rescheduleManual();
  }

  delayFor(resourceType: ResourceKind, action: TimedAction): TransitionDelay {
    return this.timing[`${resourceType}.${action}`] ?? this.timing.default ?? DEFAULT_DELAY_MS;
  }

  private applier(resourceType: string): Appliers {
    const a = this.appliers.get(resourceType);
    if (!a) throw new Error(`no lifecycle appliers registered for ${resourceType}`);
    return a;
  }

  /**
   * Called inside the mutation's transaction. A delay of 0 applies the transition right there, so
   * the caller's answer already shows the final state.
   */
  async schedule(
    tx: Executor,
    resourceType: ResourceKind,
    resourceId: string,
    kind: TransitionKind,
    action: TimedAction,
    now: number,
  ): Promise<void> {
    const delay = this.delayFor(resourceType, action);
    if (delay === 0) {
      await this.apply(tx, resourceType, resourceId, kind);
      return;
    }
    const dueAt = delay === 'manual' ? null : now + delay;
    await (dueAt === null ? scheduleManual : scheduleTimed).run(tx, {
      resourceType,
      resourceId,
      kind,
      dueAt: dueAt ?? 0,
      action,
    });
    if (dueAt !== null) this.wakeAt(dueAt);
  }

  /** Drops a pending transition (when the resource goes away by another path). */
  async cancel(tx: Executor, resourceType: ResourceKind, resourceId: string): Promise<void> {
    await transitionDelete.run(tx, { resourceType, resourceId });
  }

  private async apply(tx: Executor, resourceType: string, resourceId: string, kind: string): Promise<void> {
    const a = this.applier(resourceType);
    if (kind === 'delete') await a.delete(tx, resourceId);
    else await a.ready(tx, resourceId);
  }

  /** Claims one transition and applies it; false when another node got there first. */
  private async claimAndApply(
    resourceType: string,
    resourceId: string,
    dueBefore: number | undefined,
  ): Promise<boolean> {
    const claims = claimStatements[this.dialect];
    const key = { resourceType, resourceId, dueBefore: dueBefore ?? 0 };
    const kind = await this.writes(async (trx) => {
      const row = await (dueBefore === undefined ? claims.any : claims.due).first(trx, key);
      if (!row) return undefined;
      await this.apply(trx, row.resource_type, row.resource_id, row.kind);
      return row.kind;
    });
    if (kind === undefined) return false;
    // Once committed: a transition rolled back is not one that happened.
    this.log.debug({ resourceType, resourceId, kind }, 'transition applied');
    return true;
  }

  /**
   * Applies every transition due at `now`, each tried once; returns how many this node applied.
   * One that fails is tried again after a pause that doubles up to a minute, so that a transition
   * that keeps failing neither holds up the others nor fills the log. A stop ends the pass between
   * claims: what is left stays due in the store for the next start or another node.
   */
  async runDue(now: number = this.clock()): Promise<number> {
    if (this.failing.size >= this.retryMemory) this.forgetVanished(now);
    let applied = 0;
    let after = { afterDue: Number.MIN_SAFE_INTEGER, afterType: '', afterId: '' };
    for (;;) {
      const due = await dueTransitions.all(this.db, { now, ...after });
      const last = due.at(-1);
      if (!last) return applied;
      after = { afterDue: last.due_at ?? now, afterType: last.resource_type, afterId: last.resource_id };
      const claim = (t: (typeof due)[number]): Promise<boolean> => {
        const key = `${t.resource_type}\n${t.resource_id}`;
        const failed = this.failing.get(key);
        if (failed && failed.retryAt > now) return Promise.resolve(false);
        return this.claimAndApply(t.resource_type, t.resource_id, now).then(
          (done) => {
            this.failing.delete(key);
            return done;
          },
          (e: unknown) => {
            const failures = (failed?.failures ?? 0) + 1;
            const wait = Math.min(RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** Math.min(failures - 1, 16));
            // At the bound a new failure is not remembered, and is tried again at the next pass.
            // Making room by forgetting another instead would let that one be tried again at
            // once, fail, and make room in turn: every failing transition would be retried at
            // every pass.
            this.failing.delete(key);
            const kept = this.failing.size < this.retryMemory;
            if (kept) this.failing.set(key, { retryAt: now + wait, failures });
            this.log.error(
              {
                err: e,
                resourceType: t.resource_type,
                resourceId: t.resource_id,
                failures,
                retryInMs: kept ? wait : this.intervalMs,
              },
              'transition failed',
            );
            return false;
          },
        );
      };
      let results: boolean[];
      if (this.dialect === 'sqlite') {
        // All at once: SQLite's group commit runs them one after another in due order anyway, and
        // one commit then carries the whole batch instead of one commit each.
        results = await Promise.all(due.map(claim));
      } else {
        results = [];
        for (const t of due) {
          if (this.stopping) break;
          results.push(await claim(t));
        }
      }
      applied += results.filter(Boolean).length;
      if (due.length < DUE_PAGE || this.stopping) return applied;
    }
  }

  /**
   * Forgets the failures whose retry has been due for longer than the longest pause: a transition
   * still there would have been tried again, and so remembered afresh, by now. These are ones that
   * went away by another path (applied by another node, their resource deleted).
   */
  private forgetVanished(now: number): void {
    for (const [key, f] of this.failing) if (f.retryAt < now - RETRY_CAP_MS) this.failing.delete(key);
  }

  /** Applies pending transitions now, due or not (manual mode, admin endpoint, tests). */
  async advance(filter: { resourceType?: string; resourceId?: string } = {}): Promise<number> {
    let q = this.db.selectFrom('transitions').select(['resource_type', 'resource_id']);
    if (filter.resourceType) q = q.where('resource_type', '=', filter.resourceType);
    if (filter.resourceId) q = q.where('resource_id', '=', filter.resourceId);
    const rows = await q.execute();
    let applied = 0;
    for (const t of rows) if (await this.claimAndApply(t.resource_type, t.resource_id, undefined)) applied++;
    return applied;
  }

  async pending(): Promise<PendingTransition[]> {
    const rows = await this.db.selectFrom('transitions').selectAll().orderBy('resource_id').execute();
    return rows.map((r) => ({
      resourceType: r.resource_type,
      resourceId: r.resource_id,
      kind: r.kind,
      dueAt: r.due_at,
    }));
  }

  /**
   * Gives a due time to transitions left waiting for a manual advance whose action this node now
   * times (a restart with other settings): otherwise nothing would ever complete them.
   */
  async rescheduleManual(now: number = this.clock()): Promise<number> {
    const waiting = await this.db
      .selectFrom('transitions')
      .select(['resource_type', 'resource_id', 'kind', 'action'])
      .where('due_at', 'is', null)
      .execute();
    let rescheduled = 0;
    for (const t of waiting) {
      // A row from before actions were recorded (migration 0002) says only its kind: a delete is
      // timed as one, and a ready as the update it most likely ends.
      const action = t.action ?? (t.kind === 'delete' ? 'delete' : 'update');
      const delay = this.delayFor(t.resource_type as ResourceKind, action as TimedAction);
      if (delay === 'manual') continue;
      const r = await this.db
        .updateTable('transitions')
        .set({ due_at: now + delay })
        .where('resource_type', '=', t.resource_type)
        .where('resource_id', '=', t.resource_id)
        .where('due_at', 'is', null)
        .executeTakeFirst();
      if (r.numUpdatedRows > 0n) rescheduled++;
    }
    return rescheduled;
  }

  start(): void {
    this.stopped = false;
    this.stopping = false;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
  }

  private wakeAt(dueAt: number): void {
    if (this.stopped) return;
    const ms = Math.max(0, dueAt - this.clock());
    if (ms >= this.intervalMs) return;
    // A sooner wake already set stays: its pass applies this one too, or the interval does.
    if (this.wake !== undefined && this.wakeDueAt <= dueAt) return;
    clearTimeout(this.wake);
    this.wakeDueAt = dueAt;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.tick();
    }, ms + 1);
    this.wake.unref();
  }

  private tick(): void {
    if (this.running || this.stopped) return;
    this.running = this.runDue()
      .then(() => undefined)
      .catch((e: unknown) => this.log.error({ err: e }, 'transition worker failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.wake);
    this.wake = undefined;
    await this.running;
  }
}
