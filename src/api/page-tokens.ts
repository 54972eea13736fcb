/**
 * NextTokens of the List operations. A token holds a position in its list: for sessions and
 * filters the store's sequence number, which every account's resources share, so a readable one
 * would tell an account how many resources all the others made in between; for tags a resource id
 * and a key. It is sealed (AES-256-GCM) under the deployment's key and bound to the account and to
 * the list it came from: a client can neither read nor forge one, nor use it for another account
 * or list. Every token that does not open is refused alike.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Executor } from '../store/database.js';
import { readSecret } from '../store/secrets.repo.js';

export interface PageScope {
  readonly accountId: string;
  /** Which list the token pages through, e.g. `sessions`. */
  readonly list: string;
}

const IV_BYTES = 12;
const SEQ_BYTES = 8;
const TAG_BYTES = 16;

/** What a token is bound to: authenticated with it, though not inside it. */
function boundTo(scope: PageScope): Buffer {
  return Buffer.from(`${scope.list}\n${scope.accountId}`);
}

export class PageTokens {
  private key: Promise<Buffer> | undefined;

  /**
   * The deployment's key, read once, through the caller's connection or transaction (on SQLite a
   * read on another would wait for that transaction); a failed read is tried again by the next call.
   */
  private loadKey(db: Executor): Promise<Buffer> {
    if (!this.key) {
      const loading = readSecret(db, 'page_token_key').then((hex) => {
        if (!hex) throw new Error('the store holds no page_token_key (migration 0006)');
        return Buffer.from(hex, 'hex');
      });
      loading.catch(() => {
        if (this.key === loading) this.key = undefined;
      });
      this.key = loading;
    }
    return this.key;
  }

  /** A token that holds `position` for this list and account. */
  async sealBytes(db: Executor, scope: PageScope, position: Buffer): Promise<string> {
    const key = await this.loadKey(db);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(boundTo(scope));
    const sealed = Buffer.concat([iv, cipher.update(position), cipher.final(), cipher.getAuthTag()]);
    return sealed.toString('base64url');
  }

  /** The position a token holds, or undefined when it is not a token of this list and account. */
  async openBytes(db: Executor, scope: PageScope, token: string): Promise<Buffer | undefined> {
    const bytes = Buffer.from(token, 'base64url');
    // base64url decoding skips what it cannot read; only the exact form of a sealed token counts.
    if (bytes.length < IV_BYTES + TAG_BYTES || bytes.toString('base64url') !== token) return undefined;
    const key = await this.loadKey(db);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(boundTo(scope));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }

  /** A token that holds a sequence number. */
  seal(db: Executor, scope: PageScope, seq: number): Promise<string> {
    const plain = Buffer.alloc(SEQ_BYTES);
    plain.writeBigUInt64BE(BigInt(seq));
    return this.sealBytes(db, scope, plain);
  }

  /** The sequence number a token holds, or undefined when it is not a token of this list and account. */
  async open(db: Executor, scope: PageScope, token: string): Promise<number | undefined> {
    const plain = await this.openBytes(db, scope, token);
    if (plain?.length !== SEQ_BYTES) return undefined;
    const seq = plain.readBigUInt64BE();
    return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : undefined;
  }
}
