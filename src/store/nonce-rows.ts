/**
 * Used nonces as both engines know them (replay.repo.ts on PostgreSQL, nonce-log.ts on SQLite):
 * the key a nonce is known by and when a use expires; and, for PostgreSQL's table, the bound on
 * rows per statement and the placeholders a batch's statement takes.
 */

/** The key of a nonce: nonces are per AccessKey. */
export function keyOf(accessKeyId: string, nonce: string): string {
  return `${accessKeyId}\n${nonce}`;
}

/**
 * Rows per INSERT. Each row count is its own statement built once (prepared.ts), so the bound also
 * bounds how many such statements exist. More nonces than this are written by several statements,
 * each its own commit: the nonce batcher therefore never hands over more at once, so that a batch
 * stays all or nothing.
 */
export const NONCE_ROWS_PER_STATEMENT = 64;

export interface NonceUse {
  readonly accessKeyId: string;
  readonly nonce: string;
  /** When the request arrived: the nonce stays used until now + ttl at least. */
  readonly now: number;
  /**
   * Later than now + ttl when the request's own timestamp stays acceptable longer (a request dated
   * ahead of the server clock): the nonce must outlive every moment the request could be replayed.
   */
  readonly keepUntil?: number;
}

/** When a use of a nonce stops counting: the later of now + ttl and what the use asks for. */
export function nonceExpiry(u: Pick<NonceUse, 'now' | 'keepUntil'>, ttlMs: number): number {
  return Math.max(u.now + ttlMs, u.keepUntil ?? 0);
}

/** A nonce (in its stored form) as a row. */
export interface NonceRow {
  readonly accessKeyId: string;
  readonly nonce: string;
  readonly expiresAt: number;
}

/** A statement's placeholders: a0, n0, e0 for the first row, a1, n1, e1 for the next, … */
export type NonceRowParams = Readonly<Record<string, string | number>>;

export function nonceRowParams(rows: readonly NonceRow[]): NonceRowParams {
  const params: Record<string, string | number> = {};
  for (const [i, r] of rows.entries()) {
    params[`a${i}`] = r.accessKeyId;
    params[`n${i}`] = r.nonce;
    params[`e${i}`] = r.expiresAt;
  }
  return params;
}

/** The values of n rows, for a statement builder (see nonceRowParams). */
export function nonceRowValues(p: NonceRowParams, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    access_key_id: p[`a${i}`] as string,
    nonce: p[`n${i}`] as string,
    expires_at: p[`e${i}`] as number,
  }));
}
