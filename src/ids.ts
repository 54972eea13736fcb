/**
 * Identifier formats. Prefixes come from the API's documented examples (`tms-…`, `tmf-…`,
 * `tmr-…`, `rg-…`); the random part uses the same alphabet and length as those examples.
 */
import { randomBytes, randomInt } from 'node:crypto';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random bytes drawn from a buffer filled 4 KiB at a time: one call into the generator per ~100
 * ids instead of one per id (a Create makes one). randomUUID pools the same way.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

function randomByte(): number {
  if (used >= pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  return pool[used++] ?? 0;
}

export function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    const b = randomByte();
    if (b < limit) out += alphabet[b % alphabet.length];
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
