/**
 * RAM glob matching (policy/glob.ts): the matchers must decide exactly what the plain translation
 * of `*` to `.*` decides, must not take time growing with a power of the input, and must take
 * patterns of any length.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { compileGlobs, type GlobMatcher } from '../../src/policy/glob.js';

/** The plain translation, as the reference for what a glob means. */
function reference(patterns: readonly string[], ignoreCase: boolean): RegExp {
  const source = patterns
    .map((p) =>
      p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.'),
    )
    .join('|');
  return new RegExp(`^(?:${source})$`, ignoreCase ? 'is' : 's');
}

/** A small deterministic generator (mulberry32), so that a failure names a case that repeats. */
function generator(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

test('globs match exactly what the plain translation matches, over 10,000 generated cases', () => {
  const pick = generator(20160428);
  const word = (alphabet: string, max: number) =>
    Array.from({ length: pick(max + 1) }, () => alphabet[pick(alphabet.length)]).join('');
  for (let i = 0; i < 10_000; i++) {
    // Half of a surrogate pair too: `?` takes one UTF-16 unit, as `.` does without the `u` flag.
    const patterns = Array.from({ length: 1 + pick(3) }, () => word('ab*?A.1\ud83d', 7));
    const input = word('abAB.1\n\ud83d\ude00', 9);
    const ignoreCase = pick(2) === 1;
    assert.equal(
      compileGlobs(patterns, ignoreCase).test(input),
      reference(patterns, ignoreCase).test(input),
      `${JSON.stringify(patterns)} against ${JSON.stringify(input)}${ignoreCase ? ' (any case)' : ''}`,
    );
  }
});

/**
 * `globs.test(input)`, stopped after 10 s: a synchronous match cannot be interrupted otherwise, and
 * a backtracking matcher would hang the run instead of failing it. A guard against a hang, not a
 * measurement: the matchers take milliseconds here, the plain translation far longer.
 */
function testWithin10s(globs: GlobMatcher, input: string): boolean {
  return runInNewContext('globs.test(input)', { globs, input }, { timeout: 10_000 }) === true;
}

test('many stars against a long input that almost matches finish', () => {
  const long = 'a'.repeat(20_000);
  assert.equal(testWithin10s(compileGlobs(['*a*a*a*a*a*a*a*a*b'], false), long), false);
  assert.equal(testWithin10s(compileGlobs(['*a*a*a*a*a*a*a*a*'], false), long), true);
  assert.equal(
    testWithin10s(compileGlobs(['acs:vpc:*:*:*a*a*a*a*b'], true), `acs:vpc:cn-hangzhou:1:${long}`),
    false,
  );
});

test('a pattern of 10,000 stars and a list of 20,000 patterns are matched like any other', () => {
  // A regular expression this size fails to compile, or overflows the stack at its first match.
  const stars = `${'*a'.repeat(10_000)}*`;
  assert.equal(testWithin10s(compileGlobs([stars], false), 'a'.repeat(10_000)), true);
  assert.equal(testWithin10s(compileGlobs([stars], false), 'a'.repeat(9_999)), false);
  const many = Array.from({ length: 20_000 }, (_, i) => `acs:vpc:*:*:trafficmirrorsession/tms-${i}*`);
  const globs = compileGlobs(many, false);
  assert.equal(testWithin10s(globs, 'acs:vpc:cn-hangzhou:1:trafficmirrorsession/tms-19999x'), true);
  assert.equal(testWithin10s(globs, 'acs:vpc:cn-hangzhou:1:trafficmirrorfilter/tms-19999x'), false);
});
