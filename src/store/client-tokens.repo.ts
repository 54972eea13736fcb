/**
 * ClientToken idempotence records (spec protocol.md section 10), keyed by (account, region,
 * action, token). A row is `processing` while its first request runs and `done` with the stored
 * answer once that request committed; the completion is written in the same transaction as the
 * request's own changes, so a crash can never leave work done but unrecorded.
 */
import type { Db, Executor } from './database.js';

export interface TokenKey {
  readonly accountId: string;
  readonly regionId: string;
  readonly action: string;
  readonly clientToken: string;
}

export type ClaimResult =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'replay'; readonly response: Record<string, unknown> }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'processing' };

/**
 * Claims a token for `owner`. `runningHere` says whether a request of this process still runs on
 * the token: a `processing` claim of the same owner that no request runs any more was left by a
 * request whose release failed (the store it would release in was failing too), and is taken over
 * at once instead of after its lease.
 */
export async function claimToken(
  db: Db,
  key: TokenKey,
  paramsHash: string,
  now: number,
  leaseMs: number,
  ttlMs: number,
  owner: string,
  runningHere?: () => boolean,
): Promise<ClaimResult> {
  const row = {
    account_id: key.accountId,
    region_id: key.regionId,
    action: key.action,
    client_token: key.clientToken,
    params_hash: paramsHash,
    state: 'processing',
    response: null,
    lease_until: now + leaseMs,
    expires_at: now + ttlMs,
    owner,
  };
  const inserted = await db
    .insertInto('client_tokens')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'region_id', 'action', 'client_token']).doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return { kind: 'claimed' };

  const existing = await db
    .selectFrom('client_tokens')
    .selectAll()
    .where('account_id', '=', key.accountId)
    .where('region_id', '=', key.regionId)
    .where('action', '=', key.action)
    .where('client_token', '=', key.clientToken)
    .executeTakeFirst();
  if (!existing) return claimToken(db, key, paramsHash, now, leaseMs, ttlMs, owner, runningHere);
  // An expired record, or a processing one whose request died (lease over, or left by this owner
  // with no request running), may be taken over; the conditional update lets exactly one win.
  const abandoned =
    existing.state === 'processing' &&
    (existing.lease_until <= now ||
      (runningHere !== undefined && existing.owner === owner && !runningHere()));
  const stale = existing.expires_at <= now || abandoned;
  if (stale) {
    const taken = await db
      .updateTable('client_tokens')
      .set({
        params_hash: paramsHash,
        state: 'processing',
        response: null,
        lease_until: row.lease_until,
        expires_at: row.expires_at,
        // The claim is this owner's now: its completion and release, and its node's restart
        // clean-up, must find it as such, and the previous owner's must not.
        owner,
      })
      .where('account_id', '=', key.accountId)
      .where('region_id', '=', key.regionId)
      .where('action', '=', key.action)
      .where('client_token', '=', key.clientToken)
      .where('lease_until', '=', existing.lease_until)
      .where('state', '=', existing.state)
      .executeTakeFirst();
    if (taken.numUpdatedRows > 0n) return { kind: 'claimed' };
    return { kind: 'processing' };
  }
  if (existing.params_hash !== paramsHash) return { kind: 'mismatch' };
  if (existing.state === 'done' && existing.response !== null) {
    return { kind: 'replay', response: JSON.parse(existing.response) as Record<string, unknown> };
  }
  return { kind: 'processing' };
}

/**
 * One claim of a token: who made it and the lease it was given (claimToken's `now + leaseMs`).
 * A takeover gives the row a new lease, so a request whose claim was taken over no longer matches.
 */
export interface TokenHolder {
  readonly owner: string;
  readonly leaseUntil: number;
}

/**
 * Records the answer of the request holding the claim. False when the claim is no longer held:
 * the request ran past its lease and a retry took the token over. The caller must then roll back,
 * or the work would be done twice under one token.
 */
export async function completeToken(
  tx: Executor,
  key: TokenKey,
  response: Record<string, unknown>,
  holder?: TokenHolder,
): Promise<boolean> {
  const r = await tx
    .updateTable('client_tokens')
    .set({ state: 'done', response: JSON.stringify(response), owner: null })
    .where('account_id', '=', key.accountId)
    .where('region_id', '=', key.regionId)
    .where('action', '=', key.action)
    .where('client_token', '=', key.clientToken)
    .$if(holder !== undefined, (q) =>
      q
        .where('state', '=', 'processing')
        .where('owner', '=', holder?.owner ?? '')
        .where('lease_until', '=', holder?.leaseUntil ?? 0),
    )
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/**
 * A failed first request frees its token, so a retry executes again (spec protocol.md 10). Given
 * the holder, only that claim is freed: not one a retry has taken over since.
 */
export async function releaseToken(db: Executor, key: TokenKey, holder?: TokenHolder): Promise<void> {
  await db
    .deleteFrom('client_tokens')
    .where('account_id', '=', key.accountId)
    .where('region_id', '=', key.regionId)
    .where('action', '=', key.action)
    .where('client_token', '=', key.clientToken)
    .where('state', '=', 'processing')
    .$if(holder !== undefined, (q) =>
      q.where('owner', '=', holder?.owner ?? '').where('lease_until', '=', holder?.leaseUntil ?? 0),
    )
    .execute();
}

export async function sweepTokens(db: Executor, now: number): Promise<void> {
  await db.deleteFrom('client_tokens').where('expires_at', '<=', now).execute();
}

/**
 * Frees the claims a node's previous run left `processing`: requests of a process that is no longer
 * running cannot finish, and their work was rolled back with their transaction.
 */
export async function releaseOrphanedTokens(db: Executor, owner: string): Promise<number> {
  const r = await db
    .deleteFrom('client_tokens')
    .where('state', '=', 'processing')
    .where('owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
