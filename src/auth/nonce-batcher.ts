/**
 * Group commit for nonces. Every signed request must record its nonce before it acts, and a
 * write of its own (a commit on PostgreSQL, a write to the journal on SQLite) costs more than the
 * rest of a small request together. Nonces that arrive while the event loop is busy are written
 * together at the end of the loop turn (and while one batch is being written, the next one
 * gathers); each request still waits until its own nonce is written, so "first use wins" holds
 * exactly as with one write each.
 * The batch also reads the RAM generation once it is written: every request of the batch has
 * looked its key up by then, so that one number tells each of them whether its cached key and
 * policies are still the current ones (credential-cache.ts).
 */
import { readRamGeneration } from '../store/credentials.repo.js';
import type { Executor } from '../store/database.js';
import { isStoreUnavailable } from '../store/errors.js';
import { NONCE_ROWS_PER_STATEMENT } from '../store/nonce-rows.js';
import { type NonceUse, recordNonces } from '../store/replay.repo.js';
import { TurnBatcher } from '../turn-batcher.js';

export interface NonceAnswer {
  /** true on a first use, false on a replay inside the window. */
  readonly fresh: boolean;
  /** The RAM generation, read after the nonce was written; undefined when that read failed. */
  readonly ramGeneration: number | undefined;
}

export interface NonceRecorder {
  record(use: NonceUse): Promise<NonceAnswer>;
}

/** What writing one batch answers: first use or not for each nonce, in order, and the generation. */
export interface BatchAnswer {
  readonly fresh: readonly boolean[];
  readonly ramGeneration: number | undefined;
}

/**
 * Writes a batch, then reads the generation. The nonces are committed by then: were a failed read
 * to fail the batch, the batcher would write them again one by one and each would come back as
 * used. The read's failure is therefore reported as an unknown generation, which the request then
 * reads on its own (authenticate.ts).
 */
export function writeThenReadGeneration(
  record: (uses: readonly NonceUse[]) => Promise<boolean[]>,
  readGeneration: () => Promise<number>,
): (uses: readonly NonceUse[]) => Promise<BatchAnswer> {
  return async (uses) => {
    const fresh = await record(uses);
    const ramGeneration = await readGeneration().catch(() => undefined);
    return { fresh, ramGeneration };
  };
}

interface Waiting {
  readonly use: NonceUse;
  readonly resolve: (answer: NonceAnswer) => void;
  readonly reject: (err: unknown) => void;
}

function answerOf(batch: BatchAnswer, i: number): NonceAnswer {
  return { fresh: batch.fresh[i] === true, ramGeneration: batch.ramGeneration };
}

export class NonceBatcher implements NonceRecorder {
  // At most one statement's worth per batch: a batch is written all or nothing (replay.repo.ts).
  private readonly batches = new TurnBatcher<Waiting>((batch) => this.flush(batch), NONCE_ROWS_PER_STATEMENT);

  constructor(private readonly write: (uses: readonly NonceUse[]) => Promise<BatchAnswer>) {}

  /** Batches written to the store: the nonces first, then the generation. */
  static onStore(db: Executor, ttlMs: number): NonceBatcher {
    return new NonceBatcher(
      writeThenReadGeneration(
        (uses) => recordNonces(db, uses, ttlMs),
        () => readRamGeneration(db),
      ),
    );
  }

  record(use: NonceUse): Promise<NonceAnswer> {
    return new Promise((resolve, reject) => this.batches.add({ use, resolve, reject }));
  }

  private alone(w: Waiting): void {
    this.write([w.use]).then(
      (answer) => w.resolve(answerOf(answer, 0)),
      (err: unknown) => w.reject(err),
    );
  }

  private flush(batch: Waiting[]): Promise<void> {
    return this.write(batch.map((w) => w.use)).then(
      (answer) => {
        for (const [i, w] of batch.entries()) w.resolve(answerOf(answer, i));
      },
      (err: unknown) => {
        // One bad row fails the whole statement (or journal write): write the batch again one
        // nonce at a time, so that an error reaches only the request it belongs to. Not when the
        // store itself failed (a connection lost, a deadline passed): the batch may have been
        // committed all the same, and written again each nonce would come back as used, a first
        // use refused as a replay. Each request answers ServiceUnavailable instead, which clients
        // retry with a new nonce.
        if (batch.length === 1 || isStoreUnavailable(err)) for (const w of batch) w.reject(err);
        else for (const w of batch) this.alone(w);
      },
    );
  }
}
