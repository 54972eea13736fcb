import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { keyOf } from '../../src/store/nonce-rows.js';
import { fingerprint, RecentNonces } from '../../src/store/recent-nonces.js';

const WIDTH = 1_000;

describe('RecentNonces', () => {
  test('a key is used until its expiry and not after, and only for its own AccessKey', () => {
    const recent = new RecentNonces(WIDTH);
    recent.add(...fingerprint(keyOf('AK1', 'n1')), 5_000);
    assert.equal(recent.isUsed(...fingerprint(keyOf('AK1', 'n1')), 4_999), true);
    assert.equal(recent.isUsed(...fingerprint(keyOf('AK1', 'n1')), 5_000), false, 'expired at 5000');
    assert.equal(recent.isUsed(...fingerprint(keyOf('AK2', 'n1')), 4_000), false);
    assert.equal(recent.isUsed(...fingerprint(keyOf('AK1', 'n2')), 4_000), false);
  });

  test('a key recorded again in another slice is used until the later expiry', () => {
    const recent = new RecentNonces(WIDTH);
    const key = keyOf('AK1', 'again');
    recent.add(...fingerprint(key), 1_500);
    recent.add(...fingerprint(key), 7_250);
    assert.equal(recent.isUsed(...fingerprint(key), 7_000), true);
    recent.add(...fingerprint(key), 1_700);
    assert.equal(
      recent.isUsed(...fingerprint(key), 7_249),
      true,
      'an earlier expiry does not shorten the later one',
    );
    assert.equal(recent.isUsed(...fingerprint(key), 7_250), false);
  });

  test('claim records a first use and refuses a use before its expiry, as isUsed then add would', () => {
    const recent = new RecentNonces(WIDTH);
    const key = keyOf('AK1', 'claimed');
    assert.equal(recent.claim(...fingerprint(key), 1_000, 1_900), true);
    assert.equal(recent.isUsed(...fingerprint(key), 1_899), true);
    assert.equal(recent.claim(...fingerprint(key), 1_899, 2_799), false, 'a replay inside the window');
    assert.equal(recent.isUsed(...fingerprint(key), 1_900), false, 'the refused claim recorded nothing');
    assert.equal(recent.claim(...fingerprint(key), 1_900, 2_800), true, 'taken again once expired');
    assert.equal(recent.isUsed(...fingerprint(key), 2_799), true);
  });

  test('forget takes back the add it names and leaves a later one alone', () => {
    const recent = new RecentNonces(WIDTH);
    const key = keyOf('AK1', 'taken-back');
    recent.add(...fingerprint(key), 3_000);
    recent.forget(...fingerprint(key), 3_000);
    assert.equal(recent.isUsed(...fingerprint(key), 100), false);
    recent.add(...fingerprint(key), 3_000);
    assert.equal(recent.isUsed(...fingerprint(key), 100), true, 'recorded again after the take-back');
    recent.add(...fingerprint(key), 3_400);
    recent.forget(...fingerprint(key), 3_000);
    assert.equal(
      recent.isUsed(...fingerprint(key), 100),
      true,
      'the add of 3000 was superseded by 3400 in the same slice',
    );
  });

  test('a slice is dropped once all its keys have expired, not before', () => {
    const recent = new RecentNonces(WIDTH);
    recent.add(...fingerprint(keyOf('AK1', 'a')), 1_999);
    recent.add(...fingerprint(keyOf('AK1', 'b')), 2_000);
    recent.dropExpired(1_999);
    assert.equal(recent.stats.slices, 2);
    recent.dropExpired(2_000);
    assert.equal(recent.stats.slices, 1);
    assert.equal(recent.isUsed(...fingerprint(keyOf('AK1', 'b')), 1_999), true);
    recent.dropExpired(3_000);
    assert.deepEqual(recent.stats, { nonces: 0, bytes: 0, slices: 0 });
  });

  test('200,000 keys across growing tables: every one is found, as used, and none of 200,000 others', () => {
    const recent = new RecentNonces(WIDTH);
    const keys = Array.from({ length: 200_000 }, (_, i) =>
      keyOf(`AK${i % 7}`, randomBytes(32).toString('hex')),
    );
    for (const [i, k] of keys.entries()) recent.add(...fingerprint(k), 10_000 + (i % 3_000));
    for (const [i, k] of keys.entries()) {
      if (!recent.isUsed(...fingerprint(k), 9_999)) assert.fail(`key ${i} lost`);
      if (recent.isUsed(...fingerprint(k), 10_000 + (i % 3_000))) assert.fail(`key ${i} outlived its expiry`);
    }
    for (let i = 0; i < 200_000; i++)
      if (recent.isUsed(...fingerprint(keyOf('AK1', randomBytes(32).toString('hex'))), 0))
        assert.fail('a key never added is used');
    const { nonces, bytes, slices } = recent.stats;
    assert.equal(nonces, 200_000);
    assert.equal(slices, 3);
    assert.ok(bytes <= (nonces * 12 * 2 * 4) / 3 + 3 * 12 * 1024, `${bytes} bytes for ${nonces} nonces`);
  });

  test('reserve makes a slice at the size its nonces need at once, and leaves an existing one alone', () => {
    const recent = new RecentNonces(1000);
    recent.reserve(5_500, 1_600);
    // 1,600 at most three quarters full: 4,096 slots of three 32-bit words.
    assert.deepEqual(recent.stats, { nonces: 0, bytes: 4_096 * 12, slices: 1 });
    for (let i = 0; i < 1_600; i++) recent.add(...fingerprint(`AK\nn${i}`), 5_000 + (i % 1000));
    assert.deepEqual(recent.stats, { nonces: 1_600, bytes: 4_096 * 12, slices: 1 }, 'no growth on the way');
    recent.reserve(5_000, 100_000);
    assert.equal(recent.stats.bytes, 4_096 * 12);
    assert.equal(recent.isUsed(...fingerprint('AK\nn7'), 5_006), true);
    recent.reserve(9_000, 0);
    assert.deepEqual(recent.stats.slices, 2);
    assert.equal(recent.stats.bytes, 4_096 * 12 + 1_024 * 12, 'the smallest slice for none');
  });

  test('fingerprints: two 32-bit words, the second odd, and different for near-identical keys', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      const [a, b] = fingerprint(keyOf('AK1', `nonce-${i}`));
      assert.ok(Number.isInteger(a) && a >= 0 && a < 2 ** 32);
      assert.ok(Number.isInteger(b) && b % 2 === 1 && b < 2 ** 32);
      seen.add(`${a}:${b}`);
    }
    assert.equal(seen.size, 50_000);
    assert.notDeepEqual(fingerprint(keyOf('AK1', 'x')), fingerprint(keyOf('AK2', 'x')));
  });

  test('a slice width out of range is refused', () => {
    assert.throws(() => new RecentNonces(0), RangeError);
    assert.throws(() => new RecentNonces(2 ** 32), RangeError);
  });
});
