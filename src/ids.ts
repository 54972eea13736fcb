/**
 * Identifier formats. Prefixes come from the API's documented examples (`tms-…`, `tmf-…`,
 * `tmr-…`, `rg-…`); the random part uses the same alphabet and length as those examples.
 */
import { randomBytes, randomInt } from 'node:crypto';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomString(alphabet: string, length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length; i++) {
    // Rejection sampling keeps every character equally likely.
    const b = bytes[i % bytes.length] ?? 0;
    if (b < 256 - (256 % alphabet.length)) out += alphabet[b % alphabet.length];
    if (i >= bytes.length * 4) return out + randomString(alphabet, length - out.length);
  }
  return out;
}

export const ID_PREFIXES = {
  TrafficMirrorSession: 'tms-',
  TrafficMirrorFilter: 'tmf-',
  TrafficMirrorFilterRule: 'tmr-',
  ResourceGroup: 'rg-',
} as const;

export function newResourceId(kind: keyof typeof ID_PREFIXES): string {
  return `${ID_PREFIXES[kind]}${randomString(LOWER, kind === 'ResourceGroup' ? 15 : 21)}`;
}

export function newAccountId(): string {
  return `${randomInt(1, 10)}${randomString('0123456789', 15)}`;
}

export function newAccessKeyId(): string {
  return `LTAI${randomString(MIXED, 20)}`;
}

export function newAccessKeySecret(): string {
  return randomString(MIXED, 30);
}

export function newRamUserId(): string {
  return `${randomInt(1, 10)}${randomString('0123456789', 15)}`;
}
