/**
 * Where the benchmark's rows live. "N sessions stored" means N rows in traffic_mirror_sessions laid
 * out by one deterministic rule, so that a database can be grown from 1,000 to 1,000,000 in steps
 * and every step looks the same as a database seeded to that size at once:
 *
 * - stored sessions 1..32,766 belong to the benchmark account in one region (LIST_REGION): the
 *   most one account can hold in a region, because Priority (1-32766) is unique per account and
 *   region. List pages walk this set.
 * - the rest belong to other accounts, 25 regions x 1,000 sessions each (the default per-region
 *   quota), so every other account is in a state the API itself could have produced.
 *
 * Create and Delete use their own accounts and regions (see createSlot and deletePoolSlot), so
 * they never change what a List reads.
 */
import { DEFAULT_LIMITS, DEFAULT_REGIONS } from '../../src/config.js';

export const REGIONS: readonly string[] = DEFAULT_REGIONS;
export const LIST_REGION = 'cn-hangzhou';
/** Priority is 1..32766 and unique per account and region. */
export const MAX_PRIORITY = 32_766;
/** Sessions per account and region the default quota allows. */
export const REGION_QUOTA = DEFAULT_LIMITS.sessionsPerRegion;

export const BENCH_ACCOUNT = '1000000000000001';

export interface AccountKey {
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** A RAM user's key (with AliyunVPCFullAccess attached); absent for the account's own key. */
  readonly userName?: string;
}

/** Who signs the load: a RAM user (RAM policies are evaluated on every call) or the account itself. */
export type Principal = 'user' | 'root';

export const BENCH_USER = 'bench';
export const BENCH_POLICY = 'AliyunVPCFullAccess';

/** Accounts of the "other tenants" that fill the table beyond the benchmark account. */
export function otherAccountId(index: number): string {
  return `2${String(index).padStart(15, '0')}`;
}

/** Accounts that Create writes into (each holds up to 25 x 1,000 new sessions). */
export function createAccountId(index: number): string {
  return `3${String(index).padStart(15, '0')}`;
}

export interface StoredSlot {
  readonly accountId: string;
  readonly regionId: string;
  readonly priority: number;
}

/** Where stored session number `j` (0-based) lives. */
export function storedSlot(j: number): StoredSlot {
  if (j < MAX_PRIORITY) return { accountId: BENCH_ACCOUNT, regionId: LIST_REGION, priority: j + 1 };
  const k = j - MAX_PRIORITY;
  const perAccount = REGIONS.length * REGION_QUOTA;
  const account = Math.floor(k / perAccount);
  const region = Math.floor((k % perAccount) / REGION_QUOTA);
  return {
    accountId: otherAccountId(account),
    regionId: REGIONS[region] ?? LIST_REGION,
    priority: (k % REGION_QUOTA) + 1,
  };
}

/** How many sessions the benchmark account holds in LIST_REGION when `n` are stored. */
export function benchListCount(n: number): number {
  return Math.min(n, MAX_PRIORITY);
}

/** Regions of the benchmark account that hold the Delete pool (every region but LIST_REGION). */
export const DELETE_REGIONS: readonly string[] = REGIONS.filter((r) => r !== LIST_REGION);

/** Where pool session number `i` lives: spread over the regions so consecutive deletes differ. */
export function deletePoolSlot(i: number): { regionId: string; priority: number } {
  return {
    regionId: DELETE_REGIONS[i % DELETE_REGIONS.length] ?? LIST_REGION,
    priority: Math.floor(i / DELETE_REGIONS.length) + 1,
  };
}

export const DELETE_POOL_MAX = DELETE_REGIONS.length * MAX_PRIORITY;

/** How many create accounts a budget of Create calls needs. */
export function createAccountsFor(budget: number): number {
  return Math.max(1, Math.ceil(budget / (REGIONS.length * REGION_QUOTA)));
}

/** Create call number `i`: round-robin over every (account, region) so no region passes its quota. */
export function createSlot(
  i: number,
  accounts: number,
): { account: number; regionIndex: number; priority: number } {
  const slots = accounts * REGIONS.length;
  const s = i % slots;
  return {
    account: Math.floor(s / REGIONS.length),
    regionIndex: s % REGIONS.length,
    priority: Math.floor(i / slots) + 1,
  };
}

/**
 * What the floor's Create is sent, again and again: the parameters of a real Create. The floor
 * checks no filter or ENI, so fixed ids serve.
 */
export const FLOOR_CREATE_PARAMS: Readonly<Record<string, string>> = {
  RegionId: LIST_REGION,
  'TrafficMirrorSourceIds.1': 'eni-floorsource000000001',
  TrafficMirrorTargetId: 'eni-floortarget00000001',
  TrafficMirrorTargetType: 'NetworkInterface',
  TrafficMirrorFilterId: 'tmf-floorfilter00000001',
  Priority: '1',
};
