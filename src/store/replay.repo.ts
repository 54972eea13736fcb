/**
 * Replay protection. On PostgreSQL: one row per (AccessKey, nonce) for the replay window, whose
 * primary key makes "first use wins" hold across nodes sharing the database. On SQLite, one
 * server process per file: the recent nonces in memory and a journal beside the file (nonce-log.ts).
 */
import { hash } from 'node:crypto';
import type { Executor } from './database.js';
import { dialectOf } from './dialect.js';
import {
  type LogLoad,
  lockNonceLog,
  logNonces,
  openNonceLog,
  sweepNonceLog,
  unlockNonceLog,
} from './nonce-log.js';
import {
  keyOf,
  NONCE_ROWS_PER_STATEMENT,
  type NonceRowParams,
  type NonceUse,
  nonceExpiry,
  nonceRowParams,
  nonceRowValues,
} from './nonce-rows.js';
import { preparedShapes } from './prepared.js';

export type { NonceUse };

const insertNonces = preparedShapes(String, (db, p: NonceRowParams, rows: number) =>
  db
    .insertInto('nonces')
    .values(nonceRowValues(p, rows))
    .onConflict((oc) => oc.columns(['access_key_id', 'nonce']).doNothing())
    .returning(['access_key_id', 'nonce']),
);

/** Nonces the SDKs send (UUIDs, hex) are stored as they are, readable in the table. */
const PLAIN_NONCE = /^[\x21-\x7e]{1,128}$/;

/**
 * The nonce as stored: itself when it is short printable ASCII, otherwise its SHA-256. A client
 * may send any nonce, but an index entry has a size limit and PostgreSQL text cannot hold a NUL
 * byte; hashing keeps every nonce storable and still unique (per AccessKey).
 */
export function storedNonce(nonce: string): string {
  return PLAIN_NONCE.test(nonce) ? nonce : `sha256:${hash('sha256', nonce, 'hex')}`;
}

/**
 * Claims an SQLite file for this process's nonces before anything reads or changes it (a server,
 * as it opens its store; StoreError StoreLocked when another process holds it); nothing to claim
 * on PostgreSQL, whose nodes share their nonces.
 */
export function lockForRecording(db: Executor): void {
  if (dialectOf(db) === 'sqlite') lockNonceLog(db);
}

/** Gives up that claim: a server that checks no nonces holds it only while it migrates. */
export function releaseRecordingLock(db: Executor): void {
  if (dialectOf(db) === 'sqlite') unlockNonceLog(db);
}

/**
 * Readies the store to record nonces: on SQLite, loads the recent ones and takes the file's lock
 * (StoreError StoreLocked when another process holds it), and says what it loaded. A server calls
 * this before it listens.
 */
export function prepareNonces(db: Executor): LogLoad | undefined {
  return dialectOf(db) === 'sqlite' ? openNonceLog(db) : undefined;
}

/**
 * Records many nonces: true for each first use, false for a replay (also for a second use of the
 * same nonce within `uses`). On PostgreSQL one statement per NONCE_ROWS_PER_STATEMENT, each its own
 * commit; on SQLite one write to the journal.
 */
export async function recordNonces(
  db: Executor,
  uses: readonly NonceUse[],
  ttlMs: number,
): Promise<boolean[]> {
  const stored = uses.map((u) => ({ ...u, nonce: storedNonce(u.nonce) }));
  if (dialectOf(db) === 'sqlite') return logNonces(db, stored, ttlMs);
  // Rows in key order: two nodes inserting overlapping batches then wait on each other in the same
  // order instead of deadlocking.
  const ordered = [...stored].sort((a, b) => {
    const ka = keyOf(a.accessKeyId, a.nonce);
    const kb = keyOf(b.accessKeyId, b.nonce);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const inserted = new Set<string>();
  for (let i = 0; i < ordered.length; i += NONCE_ROWS_PER_STATEMENT) {
    const chunk = ordered.slice(i, i + NONCE_ROWS_PER_STATEMENT);
    const rows = chunk.map((u) => ({
      accessKeyId: u.accessKeyId,
      nonce: u.nonce,
      expiresAt: nonceExpiry(u, ttlMs),
    }));
    const got = await insertNonces(chunk.length).all(db, nonceRowParams(rows));
    for (const r of got) inserted.add(keyOf(r.access_key_id, r.nonce));
  }
  const results: boolean[] = [];
  for (const u of stored) {
    const key = keyOf(u.accessKeyId, u.nonce);
    if (inserted.delete(key)) results.push(true);
    else results.push(await retakeExpired(db, u, ttlMs));
  }
  return results;
}

/** An expired row that the sweeper has not removed yet does not count as a replay. */
async function retakeExpired(db: Executor, u: NonceUse, ttlMs: number): Promise<boolean> {
  const r = await db
    .updateTable('nonces')
    .set({ expires_at: nonceExpiry(u, ttlMs) })
    .where('access_key_id', '=', u.accessKeyId)
    .where('nonce', '=', u.nonce)
    .where('expires_at', '<=', u.now)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/**
 * Removes expired nonces. On PostgreSQL a row expires by the clock of the node that wrote it, and
 * every node sweeps by its own: one whose clock runs ahead would delete rows that their writer
 * still counts on, and a replay sent to the writer would then pass. So rows are left `graceMs`
 * past their expiry (the accepted clock distance), which covers nodes whose clocks differ by up to
 * that much; clocks further apart are outside what the nodes are built for (see fidelity.md). A
 * node that meets an expired row takes it over (retakeExpired). On SQLite one process writes and
 * sweeps.
 */
export async function sweepNonces(db: Executor, now: number, graceMs: number): Promise<void> {
  if (dialectOf(db) === 'sqlite') return sweepNonceLog(db, now);
  await db
    .deleteFrom('nonces')
    .where('expires_at', '<=', now - graceMs)
    .execute();
}
