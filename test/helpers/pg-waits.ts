/** Telling, from inside a PostgreSQL transaction, whether another connection waits for it. */
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../src/store/database.js';

/**
 * Whether some connection waits for a lock `trx` holds. PostgreSQL keeps the activity it showed a
 * transaction for the rest of that transaction, so a connection opened after the first look would
 * never appear: the snapshot is dropped before each look.
 */
export async function someoneWaitsFor(trx: Transaction<Database>): Promise<boolean> {
  await sql`select pg_stat_clear_snapshot()`.execute(trx);
  const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
      where pg_backend_pid() = any(pg_blocking_pids(pid))`.execute(trx);
  return (r.rows[0]?.n ?? 0) > 0;
}

/**
 * Returns once `work` waits for `trx`, or (with `mayFinish`) once it has ended instead; fails if it
 * ends when it should wait, or neither happens within 10 s.
 */
export async function untilWaiting(
  trx: Transaction<Database>,
  isSettled: () => boolean,
  expect: { what: string; mayFinish?: boolean | undefined },
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (isSettled() && expect.mayFinish) return;
    assert.ok(!isSettled(), `${expect.what} did not wait`);
    assert.ok(Date.now() < deadline, `${expect.what} never waited`);
    if (await someoneWaitsFor(trx)) return;
    await tick();
  }
}
