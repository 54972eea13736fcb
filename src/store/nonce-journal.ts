/**
 * Used nonces of an SQLite store, kept on disk beside the file: `<file>-nonces/<start>`, one file
 * for each slice of expiry times the memory holds (recent-nonces.ts), each an array of fixed-size
 * records of a nonce's fingerprint and expiry. A batch of nonces is one write() at the end of a
 * file. As a row of the SQLite file, each batch was a commit of its own: pages into the WAL, the
 * WAL-index updated, and the same pages copied again by the checkpoint, the largest part of what a
 * signed read wrote. The write lands in the operating system's cache before the request goes on,
 * so that it survives the process being killed, as a commit with `synchronous=NORMAL` does.
 *
 * Only the process that holds the file's lock (nonce-log.ts) reads or writes these files; a slice
 * whose every expiry has passed is deleted whole. A record cut short by a crash in the middle of
 * a write is dropped when the slice is read.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** a and b of the fingerprint (32 bits each), then the expiry in ms (a float64): little-endian. */
export const RECORD_BYTES = 16;

/** A nonce as the journal keeps it. */
export interface NoncePrint {
  readonly a: number;
  readonly b: number;
  readonly expiresAt: number;
}

/** The directory of the journal of an SQLite file (by its real path). */
export function journalDirOf(realPath: string): string {
  return `${realPath}-nonces`;
}

interface SliceFile {
  readonly fd: number;
  /** Bytes of whole records written: where the next write goes, and what a failed one is cut back to. */
  size: number;
}

/** Reads up to `length` bytes at `position` of the file into `into` at `at`; 0 at the end. */
export type ReadAt = (fd: number, into: Buffer, at: number, length: number, position: number) => number;

const readAt: ReadAt = (fd, into, at, length, position) => readSync(fd, into, at, length, position);

export class NonceJournal {
  private readonly files = new Map<number, SliceFile>();

  constructor(
    private readonly dir: string,
    /** The span of expiry times of one file, ms: the memory's slice width. */
    private readonly width: number,
    /** How load() reads (a test gives one that returns less than asked, as a network file system may). */
    private readonly read: ReadAt = readAt,
  ) {}

  /** The first expiry time of the slice `expiresAt` belongs to: its file's name. */
  sliceOf(expiresAt: number): number {
    return Math.floor(expiresAt / this.width) * this.width;
  }

  /**
   * Every nonce of the journal, in the order written (expired ones too, until the sweep deletes
   * their slice), and a record cut short by a crash cut off. `reserve` is told how many records a
   * file holds before they come. Read in pieces and handed over as numbers, so that a large journal
   * leaves no garbage its size behind. Made owner-only, like the SQLite file's other companions:
   * the directory is created 0700 and each file 0600.
   */
  load(
    each: (a: number, b: number, expiresAt: number) => void,
    reserve: (start: number, count: number) => void = () => {},
  ): number {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const piece = Buffer.allocUnsafe(4096 * RECORD_BYTES);
    let count = 0;
    for (const entry of readdirSync(this.dir, { withFileTypes: true })) {
      const start = /^\d{1,16}$/.test(entry.name) ? Number(entry.name) : undefined;
      // Not ours (a file named as no slice is): left alone.
      if (start === undefined || String(start) !== entry.name || start % this.width !== 0 || !entry.isFile())
        continue;
      const fd = openSync(join(this.dir, entry.name), 'r+');
      // Held before anything can fail: close() then closes it too.
      const file = { fd, size: 0 };
      this.files.set(start, file);
      const size = fstatSync(fd).size;
      const whole = size - (size % RECORD_BYTES);
      reserve(start, whole / RECORD_BYTES);
      // A read may return less than asked, and end within a record: its start is kept (`carry`
      // bytes at the start of the piece) until the next read completes it.
      let carry = 0;
      let offset = 0;
      while (offset < whole) {
        const n = this.read(fd, piece, carry, Math.min(piece.length - carry, whole - offset), offset);
        // The file ended sooner than it said: what was read is all there is.
        if (n <= 0) break;
        offset += n;
        const have = carry + n;
        const records = have - (have % RECORD_BYTES);
        for (let at = 0; at < records; at += RECORD_BYTES) {
          const b = piece.readUInt32LE(at + 4);
          const expiresAt = piece.readDoubleLE(at + 8);
          // What no write of ours makes (the second word of a fingerprint is odd, an expiry falls
          // in its file's slice): bytes a lost power supply left, say. Skipped rather than trusted.
          if ((b & 1) === 0 || !(expiresAt >= start && expiresAt < start + this.width)) continue;
          each(piece.readUInt32LE(at), b, expiresAt);
          count++;
        }
        carry = have - records;
        if (carry > 0) piece.copy(piece, 0, records, have);
      }
      // Whole records read: where the next write goes. Less than fstat said only if the file ended
      // sooner; a part of a record at the end, a crash's, is cut off either way.
      file.size = offset - carry;
      if (file.size < size) ftruncateSync(fd, file.size);
    }
    return count;
  }

  /**
   * Appends the nonces, one write per slice they fall in (one for a usual batch). All or nothing:
   * when a write fails, what this call wrote is cut off again, and the error is thrown.
   */
  append(prints: readonly NoncePrint[]): void {
    const bySlice = new Map<number, NoncePrint[]>();
    for (const p of prints) {
      const start = this.sliceOf(p.expiresAt);
      const list = bySlice.get(start);
      if (list) list.push(p);
      else bySlice.set(start, [p]);
    }
    const written: Array<[SliceFile, number]> = [];
    try {
      for (const [start, list] of bySlice) {
        const file = this.fileOf(start);
        const buf = Buffer.allocUnsafe(list.length * RECORD_BYTES);
        for (const [i, p] of list.entries()) {
          buf.writeUInt32LE(p.a, i * RECORD_BYTES);
          buf.writeUInt32LE(p.b, i * RECORD_BYTES + 4);
          buf.writeDoubleLE(p.expiresAt, i * RECORD_BYTES + 8);
        }
        written.push([file, file.size]);
        const n = writeSync(file.fd, buf, 0, buf.length, file.size);
        // A regular file takes a write short only when the disk has no more room.
        if (n !== buf.length)
          throw Object.assign(new Error('no room left for the nonce journal'), { code: 'ENOSPC' });
        file.size += n;
      }
    } catch (e) {
      for (const [file, size] of written) {
        file.size = size;
        try {
          ftruncateSync(file.fd, size);
        } catch {
          // The next write goes to `size` all the same, over what is left.
        }
      }
      throw e;
    }
  }

  private fileOf(start: number): SliceFile {
    let file = this.files.get(start);
    if (!file) {
      const fd = openSync(join(this.dir, String(start)), constants.O_RDWR | constants.O_CREAT, 0o600);
      const size = fstatSync(fd).size;
      file = { fd, size: size - (size % RECORD_BYTES) };
      this.files.set(start, file);
    }
    return file;
  }

  /** Deletes every slice whose nonces have all expired by `now`. */
  dropExpired(now: number): void {
    for (const [start, file] of this.files) {
      if (start + this.width > now) continue;
      closeSync(file.fd);
      this.files.delete(start);
      rmSync(join(this.dir, String(start)), { force: true });
    }
  }

  close(): void {
    for (const file of this.files.values()) closeSync(file.fd);
    this.files.clear();
  }
}
