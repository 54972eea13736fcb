/**
 * Identifier formats (src/ids.ts): prefixes and lengths of the documented examples, only the
 * alphabet's characters, no repeats, and every character drawn, across many refills of the pool
 * of random bytes the ids are cut from.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  newAccessKeyId,
  newAccessKeySecret,
  newAccountId,
  newResourceId,
  randomString,
} from '../../src/ids.js';

describe('ids', () => {
  test('resource ids have the prefix and length of the API examples', () => {
    assert.match(newResourceId('TrafficMirrorSession'), /^tms-[a-z0-9]{21}$/);
    assert.match(newResourceId('TrafficMirrorFilter'), /^tmf-[a-z0-9]{21}$/);
    assert.match(newResourceId('TrafficMirrorFilterRule'), /^tmr-[a-z0-9]{21}$/);
    assert.match(newResourceId('ResourceGroup'), /^rg-[a-z0-9]{15}$/);
  });

  test('account ids and AccessKeys keep their formats', () => {
    assert.match(newAccountId(), /^[1-9][0-9]{15}$/);
    assert.match(newAccessKeyId(), /^LTAI[A-Za-z0-9]{20}$/);
    assert.match(newAccessKeySecret(), /^[A-Za-z0-9]{30}$/);
  });

  test('ids drawn across many pool refills never repeat and use the whole alphabet evenly', () => {
    // 20,000 ids of 21 characters take about 100 refills of the 4 KiB pool.
    const ids = Array.from({ length: 20_000 }, () => newResourceId('TrafficMirrorSession'));
    assert.equal(new Set(ids).size, ids.length);
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(4)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 36);
    // 420,000 characters over 36: about 11,667 each; a biased draw (b % 36 without rejection)
    // would give the first 4 characters about 14 % more.
    const expected = (20_000 * 21) / 36;
    for (const [c, n] of counts) assert.ok(Math.abs(n - expected) < expected * 0.05, `${c}: ${n}`);
  });

  test('a one-character alphabet and zero length are answered without looping', () => {
    assert.equal(randomString('x', 5), 'xxxxx');
    assert.equal(randomString('abc', 0), '');
  });
});
