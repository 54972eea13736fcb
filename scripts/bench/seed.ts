/**
 * Seeds the benchmark's rows straight into the store (openStore runs the migrations), in large
 * multi-row inserts inside transactions: a million sessions through the API would take hours.
 * Rows carry the values the service itself writes (status Created, business status Normal,
 * enabled 0/1, created_at in ms, priority unique per account and region).
 */
import { sql } from 'kysely';
import { rootKey } from '../../src/accounts/bootstrap.js';
import {
  newAccessKeyId,
  newAccessKeySecret,
  newRamUserId,
  newResourceId,
  randomString,
} from '../../src/ids.js';
import type { Executor } from '../../src/store/database.js';
import type { Store } from '../../src/store/store.js';
import {
  type AccountKey,
  BENCH_ACCOUNT,
  BENCH_POLICY,
  BENCH_USER,
  createAccountId,
  deletePoolSlot,
  LIST_REGION,
  type Principal,
  REGIONS,
  storedSlot,
} from './layout.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Rows per INSERT: SQLite allows 32,766 bound values, PostgreSQL 65,535; a session has 16 columns. */
function batchRows(store: Store): number {
  return store.dialect === 'postgres' ? 4000 : 2000;
}

/** Rows per transaction: large enough to amortise the commit, small enough to keep memory flat. */
const ROWS_PER_TX = 50_000;

export function newKey(accountId: string, principal: Principal = 'root'): AccountKey {
  const key = { accountId, accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  return principal === 'user' ? { ...key, userName: BENCH_USER } : key;
}

async function ensureAccount(db: Executor, accountId: string, now: number): Promise<string> {
  const found = await db
    .selectFrom('accounts')
    .select('default_resource_group_id')
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (found) return found.default_resource_group_id;
  const rg = newResourceId('ResourceGroup');
  await db
    .insertInto('accounts')
    .values({ id: accountId, name: `bench-${accountId}`, default_resource_group_id: rg, created_at: now })
    .execute();
  return rg;
}

/**
 * The keys' accounts, and for a RAM user's key the user with AliyunVPCFullAccess attached: the
 * rows the account management commands write.
 */
export async function seedKeys(store: Store, keys: readonly AccountKey[]): Promise<void> {
  const now = Date.now();
  await store.db.transaction().execute(async (tx) => {
    for (const k of keys) {
      await ensureAccount(tx, k.accountId, now);
      const exists = await tx
        .selectFrom('access_keys')
        .select('access_key_id')
        .where('access_key_id', '=', k.accessKeyId)
        .executeTakeFirst();
      if (exists) continue;
      const user = k.userName;
      if (user !== undefined) {
        const known = await tx
          .selectFrom('ram_users')
          .select('user_id')
          .where('account_id', '=', k.accountId)
          .where('user_name', '=', user)
          .executeTakeFirst();
        if (!known) {
          await tx
            .insertInto('ram_users')
            .values({
              account_id: k.accountId,
              user_name: user,
              user_id: newRamUserId(),
              display_name: user,
              created_at: now,
            })
            .execute();
          await tx
            .insertInto('policy_attachments')
            .values({
              account_id: k.accountId,
              principal_type: 'User',
              principal_name: user,
              policy_type: 'System',
              policy_name: BENCH_POLICY,
            })
            .execute();
        }
      }
      await tx
        .insertInto('access_keys')
        .values({ ...rootKey(k.accountId, k.accessKeyId, k.accessKeySecret, now), user_name: user ?? null })
        .execute();
    }
  });
}

interface OwnerInfo {
  readonly filterId: string;
  readonly targetId: string;
  readonly resourceGroupId: string;
}

/** One Created filter and one target ENI per (account, region) that holds sessions. */
class Owners {
  private readonly cache = new Map<string, OwnerInfo>();
  private readonly rgs = new Map<string, string>();

  async get(db: Executor, accountId: string, regionId: string, now: number): Promise<OwnerInfo> {
    const key = `${accountId}/${regionId}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let rg = this.rgs.get(accountId);
    if (rg === undefined) {
      rg = await ensureAccount(db, accountId, now);
      this.rgs.set(accountId, rg);
    }
    const existing = await db
      .selectFrom('traffic_mirror_filters')
      .select('id')
      .where('account_id', '=', accountId)
      .where('region_id', '=', regionId)
      .orderBy('seq')
      .executeTakeFirst();
    let filterId = existing?.id;
    if (filterId === undefined) {
      filterId = newResourceId('TrafficMirrorFilter');
      await db
        .insertInto('traffic_mirror_filters')
        .values({
          id: filterId,
          account_id: accountId,
          region_id: regionId,
          name: '',
          description: '',
          resource_group_id: rg,
          status: 'Created',
          created_at: now,
        })
        .execute();
    }
    const info = {
      filterId,
      targetId: `eni-tgt${accountId}${String(REGIONS.indexOf(regionId)).padStart(2, '0')}`,
      resourceGroupId: rg,
    };
    this.cache.set(key, info);
    return info;
  }
}

interface SessionSpec {
  readonly accountId: string;
  readonly regionId: string;
  readonly priority: number;
}

/** Inserts sessions (one source ENI each) in batches; returns their ids in the order given. */
async function insertSessions(
  store: Store,
  count: number,
  slotOf: (i: number) => SessionSpec,
  progress?: (done: number) => void,
): Promise<string[]> {
  const owners = new Owners();
  const ids: string[] = [];
  const batch = batchRows(store);
  const base = Date.now();
  for (let txStart = 0; txStart < count; txStart += ROWS_PER_TX) {
    const txEnd = Math.min(count, txStart + ROWS_PER_TX);
    await store.db.transaction().execute(async (tx) => {
      for (let start = txStart; start < txEnd; start += batch) {
        const end = Math.min(txEnd, start + batch);
        const sessions = [];
        const sources = [];
        for (let i = start; i < end; i++) {
          const slot = slotOf(i);
          const owner = await owners.get(tx, slot.accountId, slot.regionId, base);
          const id = newResourceId('TrafficMirrorSession');
          ids.push(id);
          sessions.push({
            id,
            account_id: slot.accountId,
            region_id: slot.regionId,
            name: '',
            description: '',
            target_id: owner.targetId,
            target_type: 'NetworkInterface',
            filter_id: owner.filterId,
            // VNI is unique per account and region in practice; priority already is.
            virtual_network_id: slot.priority,
            priority: slot.priority,
            packet_length: 1500,
            enabled: i % 2,
            status: 'Created',
            business_status: 'Normal',
            resource_group_id: owner.resourceGroupId,
            created_at: base + i,
          });
          sources.push({ session_id: id, source_id: `eni-${randomString(LOWER, 21)}`, position: 1 });
        }
        await tx.insertInto('traffic_mirror_sessions').values(sessions).execute();
        await tx.insertInto('traffic_mirror_session_sources').values(sources).execute();
      }
    });
    progress?.(txEnd);
  }
  // PostgreSQL plans from table statistics, which autovacuum gathers shortly after a bulk load.
  // Measured right after seeding, plans would reflect the empty tables of a minute ago (a full
  // scan of a million source rows for a page of 100 ids); ANALYZE gives the steady state at once.
  if (store.dialect === 'postgres') await sql`analyze`.execute(store.db);
  return ids;
}

/**
 * How many sessions are stored: all of them (the "N" of the layout), or those of these ids, or in
 * this status (what a Delete window leaves `Deleting`), or both. Ids are asked in chunks: one
 * statement may bind only so many.
 */
export async function countSessions(
  store: Store,
  which: { readonly ids?: readonly string[]; readonly status?: string } = {},
): Promise<number> {
  const count = async (ids: readonly string[] | undefined) => {
    let q = store.db.selectFrom('traffic_mirror_sessions').select((eb) => eb.fn.countAll<number>().as('n'));
    if (ids !== undefined) q = q.where('id', 'in', [...ids]);
    if (which.status !== undefined) q = q.where('status', '=', which.status);
    return Number((await q.executeTakeFirst())?.n ?? 0);
  };
  if (which.ids === undefined) return count(undefined);
  let n = 0;
  for (let i = 0; i < which.ids.length; i += 500) n += await count(which.ids.slice(i, i + 500));
  return n;
}

/** Grows the stored sessions from `from` to `to` following the layout (storedSlot). */
export async function seedStored(
  store: Store,
  from: number,
  to: number,
  progress?: (done: number) => void,
): Promise<void> {
  if (to <= from) return;
  await insertSessions(
    store,
    to - from,
    (i) => storedSlot(from + i),
    progress && ((d) => progress(from + d)),
  );
}

/** Ids of the benchmark account's sessions in LIST_REGION (what List by id reads). */
export async function benchListIds(store: Store, limit: number): Promise<string[]> {
  const rows = await store.db
    .selectFrom('traffic_mirror_sessions')
    .select('id')
    .where('account_id', '=', BENCH_ACCOUNT)
    .where('region_id', '=', LIST_REGION)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** Created sessions of the benchmark account outside LIST_REGION, for Delete to consume. */
export async function seedDeletePool(store: Store, count: number): Promise<Array<[string, string]>> {
  const ids = await insertSessions(store, count, (i) => ({ accountId: BENCH_ACCOUNT, ...deletePoolSlot(i) }));
  return ids.map((id, i): [string, string] => [deletePoolSlot(i).regionId, id]);
}

export interface CreateAccount {
  readonly key: AccountKey;
  /** A Created filter per region, in REGIONS order. */
  readonly filters: readonly string[];
}

/** Empty accounts with a key and one filter per region, for Create to fill. */
export async function seedCreateAccounts(
  store: Store,
  count: number,
  principal: Principal,
): Promise<CreateAccount[]> {
  const keys = Array.from({ length: count }, (_, i) => newKey(createAccountId(i), principal));
  await seedKeys(store, keys);
  const owners = new Owners();
  const out: CreateAccount[] = [];
  const now = Date.now();
  await store.db.transaction().execute(async (tx) => {
    for (const key of keys) {
      const filters: string[] = [];
      for (const region of REGIONS) filters.push((await owners.get(tx, key.accountId, region, now)).filterId);
      out.push({ key, filters });
    }
  });
  return out;
}
