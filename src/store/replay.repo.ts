/**
 * Replay protection: one row per (AccessKey, nonce) for the replay window. The primary key makes
 * "first use wins" hold across nodes sharing the database.
 */
import type { Executor } from './database.js';

/** Records the nonce; false when it was already used inside the window. */
export async function recordNonce(
  db: Executor,
  accessKeyId: string,
  nonce: string,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const expiresAt = now + ttlMs;
  const r = await db
    .insertInto('nonces')
    .values({ access_key_id: accessKeyId, nonce, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['access_key_id', 'nonce']).doNothing())
    .executeTakeFirst();
  if ((r.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
  // An expired row that the sweeper has not removed yet does not count as a replay.
  const u = await db
    .updateTable('nonces')
    .set({ expires_at: expiresAt })
    .where('access_key_id', '=', accessKeyId)
    .where('nonce', '=', nonce)
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return u.numUpdatedRows > 0n;
}

export async function sweepNonces(db: Executor, now: number): Promise<void> {
  await db.deleteFrom('nonces').where('expires_at', '<=', now).execute();
}
