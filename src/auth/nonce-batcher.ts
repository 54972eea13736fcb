/**
 * Group commit for nonces. Every signed request must record its nonce before it acts, and a
 * commit of its own costs more than the rest of a small request together. Nonces that arrive
 * while the event loop is busy are written together in one statement at the end of the loop
 * turn (and while one batch is being written, the next one gathers); each request still waits
 * until its own nonce is committed, so "first use wins" holds exactly as with one insert each.
 */
import type { NonceUse } from '../store/replay.repo.js';

export interface NonceRecorder {
  /** true on a first use, false on a replay inside the window. */
  record(use: NonceUse): Promise<boolean>;
}

interface Waiting {
  readonly use: NonceUse;
  readonly resolve: (fresh: boolean) => void;
  readonly reject: (err: unknown) => void;
}

export class NonceBatcher implements NonceRecorder {
  private pending: Waiting[] = [];
  private busy = false;

  /** `write` records a batch and answers each use (store/replay.repo.ts recordNonces). */
  constructor(private readonly write: (uses: readonly NonceUse[]) => Promise<boolean[]>) {}

  record(use: NonceUse): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ use, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private alone(w: Waiting): void {
    this.write([w.use]).then(
      (fresh) => w.resolve(fresh[0] === true),
      (err: unknown) => w.reject(err),
    );
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.write(batch.map((w) => w.use))
      .then(
        (fresh) => {
          for (const [i, w] of batch.entries()) w.resolve(fresh[i] === true);
        },
        (err: unknown) => {
          // One bad row fails the whole statement: write the batch again one nonce at a time, so
          // that an error reaches only the request it belongs to.
          if (batch.length === 1) batch[0]?.reject(err);
          else for (const w of batch) this.alone(w);
        },
      )
      .finally(() => {
        if (this.pending.length > 0) setImmediate(() => this.flush());
        else this.busy = false;
      });
  }
}
