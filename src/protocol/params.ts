/**
 * Request parameters: the query string and an application/x-www-form-urlencoded body, decoded and
 * merged into one map (spec protocol.md section 2). Both sources are kept apart as well, because
 * the V3 signature covers only the query while V1 covers both.
 */
import { DecodeError, parsePairs, TooManyPairs } from './encoding.js';
import { protocolErrors } from './errors.js';

export interface ParsedParams {
  readonly query: ReadonlyArray<readonly [string, string]>;
  readonly body: ReadonlyArray<readonly [string, string]>;
  readonly all: ReadonlyMap<string, string>;
}

/** Limits that keep a hostile request from costing more than a normal one. */
export const PARAM_LIMITS = { maxParams: 2000, maxKeyLength: 256, maxValueLength: 64 * 1024 } as const;

export function isFormContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  return contentType.split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

const tooMany = () =>
  protocolErrors.requestMalformed(`request has more than ${PARAM_LIMITS.maxParams} parameters`);

function decodeSource(raw: string, where: string, maxPairs: number): Array<[string, string]> {
  try {
    return parsePairs(raw, maxPairs);
  } catch (e) {
    if (e instanceof DecodeError) {
      throw protocolErrors.requestMalformed(`${where} is not valid: ${e.message}`);
    }
    if (e instanceof TooManyPairs) throw tooMany();
    throw e;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Raw bytes outside ASCII must still be UTF-8; node hands the URL over byte-per-char (latin1). */
function asUtf8(raw: string | Buffer, where: string): string {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  try {
    return UTF8.decode(bytes);
  } catch {
    throw protocolErrors.requestMalformed(`${where} is not valid: not UTF-8`);
  }
}

const NON_ASCII = /[^\u0020-\u007e]/;

export function parseParams(rawQuery: string, body: Buffer, contentType: string | undefined): ParsedParams {
  const query = decodeSource(
    NON_ASCII.test(rawQuery) ? asUtf8(rawQuery, 'query string') : rawQuery,
    'query string',
    PARAM_LIMITS.maxParams,
  );
  const bodyPairs =
    body.length > 0 && isFormContentType(contentType)
      ? decodeSource(asUtf8(body, 'request body'), 'request body', PARAM_LIMITS.maxParams - query.length)
      : [];
  const all = new Map<string, string>();
  for (const [k, v] of [...query, ...bodyPairs]) {
    if (k.length > PARAM_LIMITS.maxKeyLength || v.length > PARAM_LIMITS.maxValueLength) {
      throw protocolErrors.invalidParameter(
        k.length > PARAM_LIMITS.maxKeyLength ? `${k.slice(0, 64)}...` : k,
      );
    }
    // No API value holds a NUL, and PostgreSQL cannot store one in text: refuse it at the door.
    if (k.includes('\u0000') || v.includes('\u0000'))
      throw protocolErrors.invalidParameter(k.split('\u0000').join(''));
    const prev = all.get(k);
    // No client sends a key twice with different values; accepting one of them silently would make
    // the signed and the executed request differ (spec protocol.md A7).
    if (prev !== undefined && prev !== v) throw protocolErrors.invalidParameter(k);
    all.set(k, v);
  }
  return { query, body: bodyPairs, all };
}
