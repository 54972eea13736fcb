/**
 * AccessKeys and policies, cached per node and checked against the RAM generation once per
 * request. Triggers move the generation forward with every change to keys, users, policies or
 * attachments (store migration 0003), from any node or tool, so a request never acts on a row
 * older than the generation it read: the cache answers exactly what reading the rows would,
 * for the price of reading one number.
 */
import type { PolicyDocument } from '../policy/document.js';
import { type AccessKeyRow, findAccessKey, readRamGeneration } from '../store/credentials.repo.js';
import type { Executor } from '../store/database.js';
import { loadPolicies } from './authorize.js';
import type { Principal } from './principal.js';

/** What one request reads about credentials, all as of (or after) one generation. */
export interface CredentialView {
  accessKey(accessKeyId: string): Promise<AccessKeyRow | undefined>;
  policies(principal: Principal): Promise<PolicyDocument[]>;
}

/** Bounds memory when many distinct keys are seen (say, a flood of made-up AccessKey ids). */
const MAX_ENTRIES = 10_000;

function principalKey(p: Principal): string {
  return `${p.accountId}\n${p.type}\n${p.userName ?? ''}\n${p.roleName ?? ''}`;
}

export class CredentialCache {
  /** Every entry below was read after this generation was read; any other number clears them. */
  private generation = -1;
  private readonly keys = new Map<string, AccessKeyRow>();
  private readonly policySets = new Map<string, PolicyDocument[]>();

  constructor(private readonly db: Executor) {}

  /** Reads the generation and answers the request's lookups from rows at least that new. */
  async view(): Promise<CredentialView> {
    const seen = await readRamGeneration(this.db);
    // Any difference clears the cache, a smaller number too (a database restored from a backup):
    // entries are only ever used under the very number that was current when they were read.
    if (seen !== this.generation) {
      this.generation = seen;
      this.keys.clear();
      this.policySets.clear();
    }
    return {
      accessKey: (id) => this.cached(this.keys, id, seen, () => findAccessKey(this.db, id)),
      policies: async (p) =>
        (await this.cached(this.policySets, principalKey(p), seen, () => loadPolicies(this.db, p))) ?? [],
    };
  }

  private async cached<T>(
    map: Map<string, T>,
    key: string,
    seen: number,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    const value = await load();
    // The generation may have moved while this read ran; the row could then be older than the
    // cache's generation claims, so it is used for this request only.
    if (value !== undefined && this.generation === seen) {
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(key, value);
    }
    return value;
  }
}
