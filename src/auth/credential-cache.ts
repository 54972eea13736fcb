/**
 * AccessKeys and policies, cached per node and kept honest by the RAM generation. Triggers move
 * the generation forward with every change to keys, users, policies or attachments (store
 * migration 0003), from any node or tool. The cache is a series of epochs: an epoch starts when a
 * generation is read that differs from the last one, and holds only rows read after that moment.
 * A request checks its epoch against a generation read after it looked its key up (authenticate.ts
 * reads it with the nonce batch); when the two agree, nothing changed in between and the cached
 * rows were the current ones.
 */
import type { PolicyDocument } from '../policy/document.js';
import { type AccessKeyRow, findAccessKey, readRamGeneration } from '../store/credentials.repo.js';
import type { Executor } from '../store/database.js';
import { loadPolicies } from './authorize.js';
import type { Principal } from './principal.js';

/** What one request reads about credentials, from one epoch. */
export interface CredentialView {
  /** The generation the epoch started at; -1 before any was read. */
  readonly generation: number;
  accessKey(accessKeyId: string): Promise<AccessKeyRow | undefined>;
  policies(principal: Principal): Promise<PolicyDocument[]>;
}

/** Bounds memory when many distinct keys are seen (say, a flood of made-up AccessKey ids). */
const MAX_ENTRIES = 10_000;

function principalKey(p: Principal): string {
  return `${p.accountId}\n${p.type}\n${p.userName ?? ''}\n${p.roleName ?? ''}`;
}

export class CredentialCache {
  /** The current epoch; each view holds its own maps, so an old epoch's rows never leak into a new one. */
  private epoch: CredentialView;

  constructor(private readonly db: Executor) {
    this.epoch = this.newEpoch(-1);
  }

  /** The current epoch, read from nothing: its rows still have to be checked against a generation. */
  cached(): CredentialView {
    return this.epoch;
  }

  /** Reads the generation now and answers from rows at least that new. */
  async fresh(): Promise<CredentialView> {
    return this.observe(await readRamGeneration(this.db));
  }

  /**
   * A generation read after everything the caller looked up. Any difference starts a new epoch, a
   * smaller number too (a database restored from a backup): rows are only ever used under the
   * very number that was current when they were read.
   */
  observe(generation: number): CredentialView {
    if (generation !== this.epoch.generation) this.epoch = this.newEpoch(generation);
    return this.epoch;
  }

  private newEpoch(generation: number): CredentialView {
    const keys = new Map<string, AccessKeyRow>();
    const policySets = new Map<string, PolicyDocument[]>();
    return {
      generation,
      accessKey: (id) => this.lookup(keys, id, () => findAccessKey(this.db, id)),
      policies: async (p) =>
        (await this.lookup(policySets, principalKey(p), () => loadPolicies(this.db, p))) ?? [],
    };
  }

  private async lookup<T>(
    map: Map<string, T>,
    key: string,
    load: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    // Read after the epoch began, so it belongs to the epoch, even when a newer one began meanwhile.
    const value = await load();
    if (value !== undefined) {
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(key, value);
    }
    return value;
  }
}
