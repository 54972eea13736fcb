/**
 * The two request signatures the official clients send (spec protocol.md sections 5 and 6), as
 * pure functions. Canonical strings are always rebuilt from decoded parameters and re-encoded,
 * never taken from the raw query: clients put `!'()*` on the wire differently from how they sign.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { pct } from '../protocol/encoding.js';

export const V3_ALGORITHM = 'ACS3-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Headers every V3 request must sign (spec protocol.md 6.4). */
export const V3_REQUIRED_SIGNED_HEADERS = [
  'host',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
] as const;

function byName(a: readonly [string, string], b: readonly [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

export function canonicalQuery(pairs: Iterable<readonly [string, string]>): string {
  return [...pairs]
    .sort(byName)
    .map(([k, v]) => `${pct(k)}=${pct(v)}`)
    .join('&');
}

// ---- V1 (HMAC-SHA1, SignatureVersion=1.0) ----

export function v1StringToSign(method: string, params: ReadonlyMap<string, string>): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of params) if (k !== 'Signature') pairs.push([k, v]);
  return `${method.toUpperCase()}&${pct('/')}&${pct(canonicalQuery(pairs))}`;
}

export function v1Sign(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
}

// ---- V3 (ACS3-HMAC-SHA256) ----

export interface V3Authorization {
  algorithm: string;
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`; undefined when malformed. */
export function parseV3Authorization(header: string): V3Authorization | undefined {
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const algorithm = header.slice(0, space);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signed || !signature) return undefined;
  return {
    algorithm,
    accessKeyId,
    signedHeaders: signed.split(';').map((h) => h.trim().toLowerCase()),
    signature,
  };
}

export function v3CanonicalRequest(
  method: string,
  queryPairs: Iterable<readonly [string, string]>,
  signedHeaders: readonly string[],
  headerValues: (name: string) => readonly string[],
  payloadHash: string,
): string {
  const names = [...signedHeaders].sort();
  let headers = '';
  for (const name of names) {
    const values = headerValues(name)
      .map((v) => v.trim())
      .sort();
    headers += `${name}:${values.join(',')}\n`;
  }
  return `${method.toUpperCase()}\n/\n${canonicalQuery(queryPairs)}\n${headers}\n${names.join(';')}\n${payloadHash}`;
}

export function v3StringToSign(canonicalRequest: string): string {
  return `${V3_ALGORITHM}\n${hash('sha256', canonicalRequest, 'hex')}`;
}

export function v3Sign(secret: string, stringToSign: string): string {
  return createHmac('sha256', secret).update(stringToSign, 'utf8').digest('hex');
}

export function sha256Hex(body: Buffer): string {
  return body.length === 0 ? EMPTY_SHA256 : hash('sha256', body, 'hex');
}

/** Constant-time comparison so a mismatch reveals nothing about where it happened. */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
