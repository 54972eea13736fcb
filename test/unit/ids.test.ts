/**
 * Identifier formats (src/ids.ts): prefixes and lengths of the documented examples, the creation
 * time first (ids made later sort after), then random characters: only the alphabet's, no
 * repeats, every character drawn evenly, across many refills of the pool of random bytes.
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

  test('ids begin with their creation time: ids made later sort after, whatever follows', () => {
    const at = Date.UTC(2026, 10, 26, 12, 0, 0);
    const times = [at, at + 1, at + 35, at + 36, at + 1_000, at + 86_400_000, Date.UTC(2089, 0, 1)];
    const ids = times.map((t) => newResourceId('TrafficMirrorSession', t));
    assert.deepEqual([...ids].sort(), ids);
    // Within one millisecond the random part decides: same start, different ends.
    const same = [newResourceId('TrafficMirrorFilter', at), newResourceId('TrafficMirrorFilter', at)];
    assert.equal(same[0]?.slice(0, 12), same[1]?.slice(0, 12));
    assert.notEqual(same[0], same[1]);
    // A clock before 2000, after May 2089 or between milliseconds still gives a well-formed id.
    assert.match(newResourceId('TrafficMirrorFilterRule', 0), /^tmr-0{8}[a-z0-9]{13}$/);
    assert.match(newResourceId('TrafficMirrorFilterRule', Date.UTC(2100, 0, 1)), /^tmr-z{8}[a-z0-9]{13}$/);
    assert.match(newResourceId('TrafficMirrorFilterRule', at + 0.5), /^tmr-[a-z0-9]{21}$/);
    assert.equal(newResourceId('TrafficMirrorFilterRule', at + 0.5).slice(4, 12), ids[0]?.slice(4, 12));
  });

  test('the random part, across many pool refills, never repeats and uses the alphabet evenly', () => {
    // 20,000 ids of 13 random characters take about 64 refills of the 4 KiB pool.
    const at = Date.UTC(2026, 10, 26);
    const ids = Array.from({ length: 20_000 }, () => newResourceId('TrafficMirrorSession', at));
    assert.equal(new Set(ids).size, ids.length);
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(12)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 36);
    // 260,000 characters over 36: about 7,222 each; a biased draw (b % 36 without rejection)
    // would give the first 4 characters about 14 % more.
    const expected = (20_000 * 13) / 36;
    for (const [c, n] of counts) assert.ok(Math.abs(n - expected) < expected * 0.06, `${c}: ${n}`);
  });

  test('a one-character alphabet and zero length are answered without looping', () => {
    assert.equal(randomString('x', 5), 'xxxxx');
    assert.equal(randomString('abc', 0), '');
  });
});
