/**
 * Identifier formats. Prefixes come from the API's documented examples (`tms-…`, `tmf-…`,
 * `tmr-…`, `rg-…`); what follows has the same alphabet and length as those examples.
 */
import { randomBytes, randomInt } from 'node:crypto';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Random bytes drawn from a buffer filled 4 KiB at a time: one call into the generator per about
 * 300 resource ids instead of one per id. randomUUID pools the same way.
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

/** Milliseconds since 2000-01-01 UTC: 8 base-36 digits hold them until May 2089. */
const ID_EPOCH_MS = Date.UTC(2000, 0, 1);
const TIME_DIGITS = 8;
const MAX_TIME = 36 ** TIME_DIGITS - 1;
const ID_LENGTH = 21;

/**
 * A traffic mirror resource id: the prefix, the creation time (8 characters), 13 random ones. The
 * time first makes ids made later sort after, so that the store's indexes on ids, and the rows of
 * sources, tags and transitions keyed by them, grow at their end: a new resource then dirties the
 * index pages the previous one did, where a random id touched a random page of each, and each
 * such page is written again at the commit. 13 base-36 characters leave 67 random bits per
 * millisecond.
 */
export function newResourceId(kind: keyof typeof ID_PREFIXES, now: number = Date.now()): string {
  if (kind === 'ResourceGroup') return `${ID_PREFIXES[kind]}${randomString(LOWER, 15)}`;
  // Held within the 8 digits, so that a clock out of range still gives a well-formed id (ids
  // past May 2089 then no longer sort by time) and a fractional clock no '.'.
  const ms = Math.min(MAX_TIME, Math.max(0, Math.floor(now - ID_EPOCH_MS)));
  const time = ms.toString(36).padStart(TIME_DIGITS, '0');
  return `${ID_PREFIXES[kind]}${time}${randomString(LOWER, ID_LENGTH - TIME_DIGITS)}`;
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
