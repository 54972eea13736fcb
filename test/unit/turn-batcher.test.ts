/** The per-turn batching under the nonce group commit and SQLite's shared write transactions. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TurnBatcher } from '../../src/turn-batcher.js';

const turn = () => new Promise((r) => setImmediate(r));

describe('TurnBatcher', () => {
  test('a batch holds at most max items; the rest follow in the next batches, in order', async () => {
    const batches: number[][] = [];
    const b = new TurnBatcher<number>(async (batch) => {
      batches.push(batch);
    }, 2);
    for (const n of [1, 2, 3, 4, 5]) b.add(n);
    for (let i = 0; i < 5; i++) await turn();
    assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
  });

  test('a batch whose handling fails does not stop the ones after it', async () => {
    const batches: string[][] = [];
    const b = new TurnBatcher<string>(async (batch) => {
      batches.push(batch);
      if (batch.includes('bad')) throw new Error('refused');
    });
    b.add('bad');
    await turn();
    b.add('good');
    for (let i = 0; i < 3; i++) await turn();
    assert.deepEqual(batches, [['bad'], ['good']]);
  });
});
