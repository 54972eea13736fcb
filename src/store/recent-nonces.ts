/**
 * The nonces of the replay window, held in memory for an SQLite store (nonce-log.ts): 12 bytes a
 * slot instead of a string per nonce, so that a window of a million nonces fits in tens of
 * megabytes. A nonce is kept as a 63-bit fingerprint of its AccessKey and stored form; with ten
 * million nonces held, a new one shares a fingerprint with one of them with a chance of about one
 * in 10^12, and that only refuses the new request as a replay.
 *
 * Nonces are grouped by when they expire, one open-addressing table per slice of time, so that a
 * whole slice is dropped at once when its last nonce has expired: no per-nonce deletion, no table
 * ever rebuilt in full.
 */

/** A slot is free while its second hash word is 0; every stored fingerprint has that word odd. */
const FREE = 0;
const FIRST_CAPACITY = 1024;

class Slice {
  private h1: Uint32Array;
  private h2: Uint32Array;
  /**
   * Expiry as 1 + milliseconds after `start` (a slice's width keeps that within 32 bits); 0 for a
   * nonce recorded and then taken back, which counts as never used.
   */
  private expiry: Uint32Array;
  private used = 0;

  /** `capacity`: slots, a power of two. */
  constructor(
    readonly start: number,
    capacity = FIRST_CAPACITY,
  ) {
    this.h1 = new Uint32Array(capacity);
    this.h2 = new Uint32Array(capacity);
    this.expiry = new Uint32Array(capacity);
  }

  /** The slot holding (a, b), or the free slot where it would go. */
  private slot(a: number, b: number): number {
    const mask = this.h1.length - 1;
    for (let i = a & mask; ; i = (i + 1) & mask) {
      const word = this.h2[i];
      if (word === FREE || (word === b && this.h1[i] === a)) return i;
    }
  }

  /** The expiry of (a, b) in this slice, or undefined. */
  expiresAt(a: number, b: number): number | undefined {
    const i = this.slot(a, b);
    const offset = this.expiry[i] ?? 0;
    return this.h2[i] === FREE || offset === 0 ? undefined : this.start + offset - 1;
  }

  /** Records (a, b) as expiring at `at`, keeping the later expiry when it is already here. */
  put(a: number, b: number, at: number): void {
    if ((this.used + 1) * 4 > this.h1.length * 3) this.grow();
    const i = this.slot(a, b);
    const offset = at - this.start + 1;
    if (this.h2[i] === FREE) {
      this.h1[i] = a;
      this.h2[i] = b;
      this.expiry[i] = offset;
      this.used++;
    } else if (offset > (this.expiry[i] ?? 0)) {
      this.expiry[i] = offset;
    }
  }

  /** Marks (a, b) expired if it still expires at `at`: it was recorded, then not written. */
  expire(a: number, b: number, at: number): void {
    const i = this.slot(a, b);
    if (this.h2[i] !== FREE && this.expiry[i] === at - this.start + 1) this.expiry[i] = 0;
  }

  private grow(): void {
    const [h1, h2, expiry] = [this.h1, this.h2, this.expiry];
    const size = h1.length * 2;
    this.h1 = new Uint32Array(size);
    this.h2 = new Uint32Array(size);
    this.expiry = new Uint32Array(size);
    for (let j = 0; j < h1.length; j++) {
      const b = h2[j] ?? FREE;
      if (b === FREE) continue;
      const a = h1[j] ?? 0;
      const i = this.slot(a, b);
      this.h1[i] = a;
      this.h2[i] = b;
      this.expiry[i] = expiry[j] ?? 0;
    }
  }

  get size(): number {
    return this.used;
  }

  get bytes(): number {
    return this.h1.byteLength + this.h2.byteLength + this.expiry.byteLength;
  }
}

/** Two independent 32-bit hashes of a string; the second is made odd (never FREE). */
export function fingerprint(key: string): readonly [number, number] {
  let a = 0x811c9dc5;
  let b = 0x27d4eb2f;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 13;
  b = Math.imul(b, 0x9e3779b1);
  b ^= b >>> 16;
  return [a >>> 0, (b | 1) >>> 0];
}

export class RecentNonces {
  private readonly slices = new Map<number, Slice>();

  /** `width`: the span of expiry times one table holds, in milliseconds (below 2^32 - 1). */
  constructor(private readonly width: number) {
    if (!(width >= 1 && width < 2 ** 32 - 1)) throw new RangeError(`slice width out of range: ${width}`);
  }

  private sliceFor(at: number, create: true, capacity?: number): Slice;
  private sliceFor(at: number, create: false): Slice | undefined;
  private sliceFor(at: number, create: boolean, capacity?: number): Slice | undefined {
    const key = Math.floor(at / this.width);
    let slice = this.slices.get(key);
    if (!slice && create) {
      slice = new Slice(key * this.width, capacity);
      this.slices.set(key, slice);
    }
    return slice;
  }

  /**
   * Makes room for `count` nonces expiring in the slice of `at`, before they are added: a slice
   * loaded whole is then made at its size at once, rather than grown through every size below it,
   * each left behind as garbage the size of the nonces so far. A slice that exists is left alone.
   */
  reserve(at: number, count: number): void {
    let capacity = FIRST_CAPACITY;
    // put() keeps a table at most three quarters full.
    while (capacity * 3 < count * 4) capacity *= 2;
    this.sliceFor(at, true, capacity);
  }

  /**
   * A nonce is known by its fingerprint (`fingerprint(keyOf(accessKeyId, nonce))`), which the
   * caller also writes down (nonce-journal.ts). Whether it was recorded with an expiry later
   * than `now`:
   */
  isUsed(a: number, b: number, now: number): boolean {
    for (const slice of this.slices.values()) {
      const at = slice.expiresAt(a, b);
      if (at !== undefined && at > now) return true;
    }
    return false;
  }

  /** Records the nonce as used until `expiresAt`. */
  add(a: number, b: number, expiresAt: number): void {
    this.sliceFor(expiresAt, true).put(a, b, expiresAt);
  }

  /** isUsed, then add when it was not: false for a replay, true for a first use now recorded. */
  claim(a: number, b: number, now: number, expiresAt: number): boolean {
    if (this.isUsed(a, b, now)) return false;
    this.add(a, b, expiresAt);
    return true;
  }

  /** Undoes an add whose write failed, unless the nonce was recorded again meanwhile. */
  forget(a: number, b: number, expiresAt: number): void {
    this.sliceFor(expiresAt, false)?.expire(a, b, expiresAt);
  }

  /** Drops every slice whose nonces have all expired by `now`. */
  dropExpired(now: number): void {
    for (const [key, slice] of this.slices) if (slice.start + this.width <= now) this.slices.delete(key);
  }

  /** Nonces held (expired ones included until their slice is dropped) and the bytes they take. */
  get stats(): { readonly nonces: number; readonly bytes: number; readonly slices: number } {
    let nonces = 0;
    let bytes = 0;
    for (const s of this.slices.values()) {
      nonces += s.size;
      bytes += s.bytes;
    }
    return { nonces, bytes, slices: this.slices.size };
  }
}
