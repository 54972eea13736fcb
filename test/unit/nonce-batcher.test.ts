/**
 * The nonce group commit: nonces that arrive in one event-loop turn are written together, each
 * caller gets its own answer only after its batch is written, and a failed write fails exactly the
 * callers of that batch.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type BatchAnswer,
  type NonceAnswer,
  NonceBatcher,
  writeThenReadGeneration,
} from '../../src/auth/nonce-batcher.js';
import { NONCE_ROWS_PER_STATEMENT } from '../../src/store/nonce-rows.js';
import type { NonceUse } from '../../src/store/replay.repo.js';

function use(nonce: string): NonceUse {
  return { accessKeyId: 'AK', nonce, now: 1_000 };
}

/**
 * A writer that records its batches and answers "fresh" unless the nonce starts with "used"; the
 * generation it reports is the number of batches written so far.
 */
function recordingWriter() {
  const batches: string[][] = [];
  let release: (() => void) | undefined;
  let hold: Promise<void> | undefined;
  return {
    batches,
    /** Makes the next write wait until `open()` is called. */
    block() {
      hold = new Promise((r) => {
        release = r;
      });
    },
    open() {
      release?.();
    },
    write: async (uses: readonly NonceUse[]): Promise<BatchAnswer> => {
      batches.push(uses.map((u) => u.nonce));
      if (hold) {
        const h = hold;
        hold = undefined;
        await h;
      }
      return { fresh: uses.map((u) => !u.nonce.startsWith('used')), ramGeneration: batches.length };
    },
  };
}

const fresh = (a: NonceAnswer): boolean => a.fresh;

describe('NonceBatcher', () => {
  test('nonces recorded in one turn of the event loop are written in one batch, each with its own answer', async () => {
    const w = recordingWriter();
    const b = new NonceBatcher(w.write);
    const answers = await Promise.all([b.record(use('a')), b.record(use('used-b')), b.record(use('c'))]);
    assert.deepEqual(answers.map(fresh), [true, false, true]);
    assert.deepEqual(w.batches, [['a', 'used-b', 'c']]);
  });

  test('more nonces in one turn than one statement holds go out as consecutive batches, each whole', async () => {
    const w = recordingWriter();
    const b = new NonceBatcher(w.write);
    const nonces = Array.from({ length: NONCE_ROWS_PER_STATEMENT * 2 + 5 }, (_, i) => `n${i}`);
    const answers = await Promise.all(nonces.map((n) => b.record(use(n))));
    assert.ok(answers.every(fresh));
    assert.deepEqual(
      w.batches.map((batch) => batch.length),
      [NONCE_ROWS_PER_STATEMENT, NONCE_ROWS_PER_STATEMENT, 5],
    );
    assert.deepEqual(w.batches.flat(), nonces, 'in arrival order');
  });

  test('nonces arriving while a batch is being written wait for the next batch, which follows at once', async () => {
    const w = recordingWriter();
    const b = new NonceBatcher(w.write);
    w.block();
    const first = b.record(use('a'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(w.batches, [['a']], 'the first batch is being written');
    const later = [b.record(use('b')), b.record(use('c'))];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(w.batches, [['a']], 'nothing else is written while the first batch runs');
    w.open();
    const answers = await Promise.all([first, ...later]);
    assert.deepEqual(answers.map(fresh), [true, true, true]);
    assert.deepEqual(w.batches, [['a'], ['b', 'c']]);
    assert.deepEqual(
      answers.map((a) => a.ramGeneration),
      [1, 2, 2],
      'each caller gets the generation read after its own batch was written',
    );
  });

  test('a batch that fails is written again one nonce at a time: the error reaches only its own request', async () => {
    const writes: string[][] = [];
    const b = new NonceBatcher(async (uses) => {
      writes.push(uses.map((u) => u.nonce));
      // Like a row the database refuses (an oversized index entry): the statement fails as a whole.
      if (uses.some((u) => u.nonce === 'poison')) throw new Error('index row size exceeds maximum');
      return { fresh: uses.map(() => true), ramGeneration: 7 };
    });
    const results = await Promise.allSettled([
      b.record(use('a')),
      b.record(use('poison')),
      b.record(use('c')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(writes, [['a', 'poison', 'c'], ['a'], ['poison'], ['c']]);
    assert.deepEqual(results[0], { status: 'fulfilled', value: { fresh: true, ramGeneration: 7 } });
    assert.deepEqual(await b.record(use('d')), { fresh: true, ramGeneration: 7 }, 'the batcher goes on');
  });

  test('a batch the store failed (the connection lost: perhaps committed) is not written again: each caller gets the failure', async () => {
    const writes: string[][] = [];
    const b = new NonceBatcher(async (uses) => {
      writes.push(uses.map((u) => u.nonce));
      if (writes.length === 1) throw new Error('Connection terminated unexpectedly');
      return { fresh: uses.map(() => true), ramGeneration: 7 };
    });
    const results = await Promise.allSettled([b.record(use('a')), b.record(use('b'))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.deepEqual(writes, [['a', 'b']]);
    assert.deepEqual(await b.record(use('c')), { fresh: true, ramGeneration: 7 }, 'the batcher goes on');
  });

  test('a failed write of a single nonce rejects its caller', async () => {
    const b = new NonceBatcher(async () => {
      throw new Error('disk full');
    });
    await assert.rejects(b.record(use('a')), /disk full/);
  });

  test('a single caller is answered without waiting for company', async () => {
    const w = recordingWriter();
    const b = new NonceBatcher(w.write);
    assert.deepEqual(await b.record(use('alone')), { fresh: true, ramGeneration: 1 });
    assert.deepEqual(await b.record(use('used-again')), { fresh: false, ramGeneration: 2 });
    assert.deepEqual(w.batches, [['alone'], ['used-again']]);
  });

  test('a failed read of the generation leaves the written nonces fresh and the generation unknown', async () => {
    const written: string[][] = [];
    const b = new NonceBatcher(
      writeThenReadGeneration(
        async (uses) => {
          written.push(uses.map((u) => u.nonce));
          return uses.map(() => true);
        },
        async () => {
          throw new Error('connection terminated');
        },
      ),
    );
    const answers = await Promise.all([b.record(use('a')), b.record(use('b'))]);
    assert.deepEqual(answers, [
      { fresh: true, ramGeneration: undefined },
      { fresh: true, ramGeneration: undefined },
    ]);
    assert.deepEqual(written, [['a', 'b']], 'written once, not again one by one');
  });
});
