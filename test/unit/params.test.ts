/**
 * Parameter decoding and merging (spec protocol.md 2 and 5.1): the signature encoding, percent
 * decoding with `+` as a space, UTF-8 checks, the query/body merge and the limits on size and count.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError } from '../../src/protocol/api-error.js';
import { DecodeError, decodeComponent, parsePairs, pct, TooManyPairs } from '../../src/protocol/encoding.js';
import { isFormContentType, PARAM_LIMITS, parseParams } from '../../src/protocol/params.js';

const FORM = 'application/x-www-form-urlencoded';
const none = Buffer.alloc(0);

/** Runs fn, expecting an ApiError; returns its code and message. */
function apiError(fn: () => unknown): { code: string; message: string; status: number } {
  try {
    fn();
  } catch (e) {
    if (isApiError(e)) return { code: e.code, message: e.message, status: e.httpStatus };
    throw e;
  }
  throw new Error('no error was thrown');
}

/** Node hands the request target over one byte per character; this builds such a string. */
function asNodeUrl(bytes: Buffer): string {
  return bytes.toString('latin1');
}

describe('pct (the signature encoding)', () => {
  const cases: Array<[string, string]> = [
    ['AZaz09-_.~', 'AZaz09-_.~'],
    [' ', '%20'],
    ['*', '%2A'],
    ["!'()", '%21%27%28%29'],
    ['/:=&+?#%', '%2F%3A%3D%26%2B%3F%23%25'],
    ['中', '%E4%B8%AD'],
    ['😀', '%F0%9F%98%80'],
    ['', ''],
  ];
  for (const [raw, encoded] of cases) {
    test(`pct(${JSON.stringify(raw)}) is ${encoded}`, () => {
      assert.equal(pct(raw), encoded);
    });
  }
});

describe('decodeComponent', () => {
  const ok: Array<[string, string]> = [
    ['a+b', 'a b'],
    ['a%2Bb', 'a+b'],
    ['a%20b', 'a b'],
    ['%e4%b8%ad', '中'],
    ['%E4%B8%AD', '中'],
    ['%F0%9F%98%80', '😀'],
    ['plain', 'plain'],
    ['%00', '\u0000'],
    ['~%7E', '~~'],
  ];
  for (const [raw, decoded] of ok) {
    test(`${raw} decodes to ${JSON.stringify(decoded)}`, () => {
      assert.equal(decodeComponent(raw), decoded);
    });
  }
  const malformed = ['%', '%4', '%zz', 'a%G1', '%%20'];
  for (const raw of malformed) {
    test(`${raw} is malformed percent-encoding`, () => {
      assert.throws(
        () => decodeComponent(raw),
        (e: unknown) => e instanceof DecodeError && /malformed/.test(e.message),
      );
    });
  }
  const notUtf8 = ['%FF', '%FF%FE', '%C3%28', '%ED%A0%80', '%C0%AF', '%E4%B8', '中%FF'];
  for (const raw of notUtf8) {
    test(`${raw} is rejected as not UTF-8`, () => {
      assert.throws(
        () => decodeComponent(raw),
        (e: unknown) => e instanceof DecodeError && /not UTF-8/.test(e.message),
      );
    });
  }
});

describe('parsePairs', () => {
  test('keeps order, empty values and = inside values; skips empty parts', () => {
    assert.deepEqual(parsePairs('b=2&&a=&c&d=x=y&'), [
      ['b', '2'],
      ['a', ''],
      ['c', ''],
      ['d', 'x=y'],
    ]);
  });
  test('an empty string has no pairs', () => {
    assert.deepEqual(parsePairs(''), []);
  });
  test('an empty parameter name is refused', () => {
    assert.throws(() => parsePairs('a=1&=2'), DecodeError);
  });
  test('stops at the first pair past the limit, before decoding it; empty parts do not count', () => {
    assert.equal(parsePairs('a=1&&&b=2&', 2).length, 2);
    assert.throws(() => parsePairs('a=1&b=2&c=%', 2), TooManyPairs);
    assert.throws(() => parsePairs('a&'.repeat(500_000), 2000), TooManyPairs);
  });
});

describe('isFormContentType', () => {
  const yes = [
    FORM,
    `${FORM}; charset=UTF-8`,
    'Application/X-WWW-Form-Urlencoded',
    ` ${FORM} ;charset=utf-8`,
  ];
  const no = [undefined, '', 'text/plain', 'application/json', 'multipart/form-data; boundary=x', `${FORM}x`];
  for (const c of yes) test(`${JSON.stringify(c)} is a form`, () => assert.equal(isFormContentType(c), true));
  for (const c of no)
    test(`${JSON.stringify(c)} is not a form`, () => assert.equal(isFormContentType(c), false));
});

describe('parseParams', () => {
  test('merges the query and a form body, keeping each source apart for the V3 signature', () => {
    const p = parseParams('A=1&B=x+y', Buffer.from('C=3&A=1'), FORM);
    assert.deepEqual(p.query, [
      ['A', '1'],
      ['B', 'x y'],
    ]);
    assert.deepEqual(p.body, [
      ['C', '3'],
      ['A', '1'],
    ]);
    assert.deepEqual(
      [...p.all],
      [
        ['A', '1'],
        ['B', 'x y'],
        ['C', '3'],
      ],
    );
  });

  test('ignores a body that is not a form', () => {
    for (const type of [undefined, 'text/plain', 'application/json']) {
      const p = parseParams('A=1', Buffer.from('B=2'), type);
      assert.deepEqual([...p.all.keys()], ['A'], String(type));
      assert.deepEqual(p.body, []);
    }
  });

  test('a key repeated with the same value is kept once; with another value it is InvalidParameter naming it', () => {
    assert.equal(parseParams('A=1&A=1', none, undefined).all.get('A'), '1');
    const e = apiError(() => parseParams('RegionId=a&RegionId=b', none, undefined));
    assert.deepEqual(e, {
      code: 'InvalidParameter',
      message: 'The specified parameter "RegionId" is not valid.',
      status: 400,
    });
    const across = apiError(() => parseParams('RegionId=a', Buffer.from('RegionId=b'), FORM));
    assert.equal(across.code, 'InvalidParameter');
    assert.match(across.message, /"RegionId"/);
  });

  test('names are case-sensitive: RegionId and regionid are two parameters', () => {
    const p = parseParams('RegionId=a&regionid=b', none, undefined);
    assert.equal(p.all.get('RegionId'), 'a');
    assert.equal(p.all.get('regionid'), 'b');
  });

  test('broken escapes in the query or the body are InvalidParameter saying where', () => {
    assert.match(
      apiError(() => parseParams('A=%zz', none, undefined)).message,
      /^The query string is not valid: malformed/,
    );
    assert.match(
      apiError(() => parseParams('', Buffer.from('A=%FF'), FORM)).message,
      /^The request body is not valid: not UTF-8/,
    );
  });

  test('raw UTF-8 bytes in the request target are decoded; raw bytes that are not UTF-8 are refused', () => {
    const url = asNodeUrl(
      Buffer.concat([Buffer.from('Name='), Buffer.from('中 文'.replace(' ', ''), 'utf8')]),
    );
    assert.equal(parseParams(url, none, undefined).all.get('Name'), '中文');
    const bad = asNodeUrl(Buffer.from([0x41, 0x3d, 0xff]));
    assert.match(
      apiError(() => parseParams(bad, none, undefined)).message,
      /query string is not valid: not UTF-8/,
    );
  });

  test('raw body bytes that are not UTF-8 are refused', () => {
    const body = Buffer.concat([Buffer.from('A='), Buffer.from([0xc3, 0x28])]);
    assert.equal(apiError(() => parseParams('', body, FORM)).code, 'InvalidParameter');
  });

  test(`${PARAM_LIMITS.maxParams} parameters are accepted, one more is refused`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `P${i}=1`).join('&');
    assert.equal(parseParams(many(PARAM_LIMITS.maxParams), none, undefined).all.size, PARAM_LIMITS.maxParams);
    const half = PARAM_LIMITS.maxParams / 2;
    const e = apiError(() => parseParams(many(half + 1), Buffer.from(many(half).replace(/P/g, 'Q')), FORM));
    assert.match(e.message, /more than 2000 parameters/);
  });

  test('a value over the limit is InvalidParameter naming its key; a long key is named shortened', () => {
    const okValue = 'v'.repeat(PARAM_LIMITS.maxValueLength);
    assert.equal(parseParams(`A=${okValue}`, none, undefined).all.get('A'), okValue);
    assert.match(apiError(() => parseParams(`A=${okValue}v`, none, undefined)).message, /"A"/);
    const longKey = 'K'.repeat(PARAM_LIMITS.maxKeyLength + 1);
    const e = apiError(() => parseParams(`${longKey}=1`, none, undefined));
    assert.equal(e.message, `The specified parameter "${'K'.repeat(64)}..." is not valid.`);
  });
});
