/**
 * Traffic mirror filters and their rules in the store. Sessions use `filterState` to tell
 * whether a filter exists for them and whether it is being changed. Every state change here is a
 * conditional update so that concurrent requests, on one node or several, cannot both win.
 */
import type { Executor } from '../../store/database.js';
import { prepared } from '../../store/prepared.js';
import { removeTags, type TagFilter } from './tags.repo.js';

export interface FilterState {
  readonly id: string;
  readonly status: string;
  /** True when the filter or any of its rules is not Created: a change is under way. */
  readonly busy: boolean;
}

/**
 * The filter of an owner and, in the same statement, whether a rule of it is changing (0/1 or a
 * boolean). Callers may select more columns in the same statement (sessions.repo.ts does).
 */
export function filterOfOwnerQuery(
  db: Executor,
  p: { filterId: string; accountId: string; regionId: string },
) {
  return db
    .selectFrom('traffic_mirror_filters as f')
    .select((eb) => [
      'f.id',
      'f.status',
      eb
        .exists(
          eb
            .selectFrom('traffic_mirror_filter_rules as r')
            .select('r.id')
            .whereRef('r.filter_id', '=', 'f.id')
            .where('r.status', '!=', 'Created'),
        )
        .as('rule_changing'),
    ])
    .where('f.id', '=', p.filterId)
    .where('f.account_id', '=', p.accountId)
    .where('f.region_id', '=', p.regionId);
}

const filterOfOwner = prepared(filterOfOwnerQuery);

/** A row of filterOfOwnerQuery as the state sessions check. */
export function filterStateOf(row: { id: string; status: string; rule_changing: unknown }): FilterState {
  return {
    id: row.id,
    status: row.status,
    busy: row.status !== 'Created' || Number(row.rule_changing) === 1,
  };
}

export async function filterState(
  db: Executor,
  accountId: string,
  regionId: string,
  filterId: string,
): Promise<FilterState | undefined> {
  const filter = await filterOfOwner.first(db, { filterId, accountId, regionId });
  return filter && filterStateOf(filter);
}

export type Direction = 'ingress' | 'egress';

export interface FilterRow {
  readonly seq: number;
  readonly id: string;
  readonly account_id: string;
  readonly region_id: string;
  readonly name: string;
  readonly description: string;
  readonly resource_group_id: string;
  readonly status: string;
  readonly created_at: number;
}

export interface RuleRow {
  readonly seq: number;
  readonly id: string;
  readonly filter_id: string;
  readonly direction: string;
  readonly rule_action: string;
  readonly protocol: string;
  readonly priority: number;
  readonly source_cidr_block: string;
  readonly destination_cidr_block: string;
  readonly source_port_range: string;
  readonly destination_port_range: string;
  readonly ip_version: string;
  readonly status: string;
  readonly created_at: number;
}

export type NewFilter = Omit<FilterRow, 'seq'>;
export type NewRule = Omit<RuleRow, 'seq'>;
/** The rule fields a change may set. */
export type RuleFields = Pick<
  RuleRow,
  | 'rule_action'
  | 'protocol'
  | 'priority'
  | 'source_cidr_block'
  | 'destination_cidr_block'
  | 'source_port_range'
  | 'destination_port_range'
>;

export async function insertFilter(db: Executor, filter: NewFilter): Promise<void> {
  await db.insertInto('traffic_mirror_filters').values(filter).execute();
}

export async function insertRules(db: Executor, rules: readonly NewRule[]): Promise<void> {
  if (rules.length === 0) return;
  await db.insertInto('traffic_mirror_filter_rules').values(rules).execute();
}

/** One filter of the account in the region; undefined when absent (or another owner's). */
export async function findFilter(
  db: Executor,
  accountId: string,
  regionId: string,
  filterId: string,
): Promise<FilterRow | undefined> {
  return db
    .selectFrom('traffic_mirror_filters')
    .selectAll()
    .where('id', '=', filterId)
    .where('account_id', '=', accountId)
    .where('region_id', '=', regionId)
    .executeTakeFirst();
}

export async function countFilters(db: Executor, accountId: string, regionId: string): Promise<number> {
  const r = await db
    .selectFrom('traffic_mirror_filters')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account_id', '=', accountId)
    .where('region_id', '=', regionId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Takes the row lock of the caller's filter while it is Created (a no-op write on PostgreSQL, the
 * database lock on SQLite), so a rule change, a filter delete and the sessions using the filter
 * serialize. False when the filter is not Created or not the caller's (another account's row is
 * never touched, whatever id a request names).
 */
const filterLock = prepared((db, p: { filterId: string; accountId: string; regionId: string }) =>
  db
    .updateTable('traffic_mirror_filters')
    .set({ status: 'Created' })
    .where('id', '=', p.filterId)
    .where('account_id', '=', p.accountId)
    .where('region_id', '=', p.regionId)
    .where('status', '=', 'Created'),
);

export async function lockCreatedFilter(
  db: Executor,
  accountId: string,
  regionId: string,
  filterId: string,
): Promise<boolean> {
  return (await filterLock.run(db, { filterId, accountId, regionId })) > 0;
}

/** Moves the filter from one status to another; false when it was not in `from`. */
export async function setFilterStatus(
  db: Executor,
  filterId: string,
  from: readonly string[],
  to: string,
): Promise<boolean> {
  const r = await db
    .updateTable('traffic_mirror_filters')
    .set({ status: to })
    .where('id', '=', filterId)
    .where('status', 'in', from)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** Name/description of a Created filter; false when the filter is not Created. */
export async function updateFilterAttributes(
  db: Executor,
  filterId: string,
  patch: { name?: string; description?: string },
): Promise<boolean> {
  const r = await db
    .updateTable('traffic_mirror_filters')
    .set({ status: 'Created', ...patch })
    .where('id', '=', filterId)
    .where('status', '=', 'Created')
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

const filterDelete = prepared((db, p: { filterId: string }) =>
  db.deleteFrom('traffic_mirror_filters').where('id', '=', p.filterId),
);
const rulesOfFilterDelete = prepared((db, p: { filterId: string }) =>
  db.deleteFrom('traffic_mirror_filter_rules').where('filter_id', '=', p.filterId),
);

/**
 * Removes the filter, its rules and its tags. The filter row goes first: a request holding it (a
 * tag or rule change) is waited for, so what it wrote is seen and removed here too.
 */
export async function deleteFilterCascade(db: Executor, filterId: string): Promise<void> {
  await filterDelete.run(db, { filterId });
  await rulesOfFilterDelete.run(db, { filterId });
  await removeTags(db, filterId, 'all');
}

/** Rules of some filters, by priority then creation, grouped by filter. */
export async function rulesOf(db: Executor, filterIds: readonly string[]): Promise<Map<string, RuleRow[]>> {
  const out = new Map<string, RuleRow[]>();
  if (filterIds.length === 0) return out;
  const rows = await db
    .selectFrom('traffic_mirror_filter_rules')
    .selectAll()
    .where('filter_id', 'in', filterIds)
    .orderBy('priority')
    .orderBy('seq')
    .execute();
  for (const r of rows) {
    const list = out.get(r.filter_id) ?? [];
    list.push(r);
    out.set(r.filter_id, list);
  }
  return out;
}

/** A rule whose filter belongs to the account and region; undefined otherwise. */
export async function findRule(
  db: Executor,
  accountId: string,
  regionId: string,
  ruleId: string,
): Promise<RuleRow | undefined> {
  return db
    .selectFrom('traffic_mirror_filter_rules as r')
    .innerJoin('traffic_mirror_filters as f', 'f.id', 'r.filter_id')
    .selectAll('r')
    .where('r.id', '=', ruleId)
    .where('f.account_id', '=', accountId)
    .where('f.region_id', '=', regionId)
    .executeTakeFirst();
}

/** Moves rules of one filter from Created to `to`; returns how many moved. */
export async function setRulesStatusFromCreated(
  db: Executor,
  filterId: string,
  ruleIds: readonly string[] | 'all',
  to: string,
): Promise<number> {
  let q = db
    .updateTable('traffic_mirror_filter_rules')
    .set({ status: to })
    .where('filter_id', '=', filterId)
    .where('status', '=', 'Created');
  if (ruleIds !== 'all') {
    if (ruleIds.length === 0) return 0;
    q = q.where('id', 'in', ruleIds);
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Changes a Created rule and marks it Modifying; false when the rule is not Created. */
export async function modifyRule(db: Executor, ruleId: string, fields: RuleFields): Promise<boolean> {
  const r = await db
    .updateTable('traffic_mirror_filter_rules')
    .set({ ...fields, status: 'Modifying' })
    .where('id', '=', ruleId)
    .where('status', '=', 'Created')
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** Rules of a filter, or one rule, in Creating/Modifying. */
function readyStatement(by: 'filter_id' | 'id') {
  return prepared((db, p: { key: string }) =>
    db
      .updateTable('traffic_mirror_filter_rules')
      .set({ status: 'Created' })
      .where('status', 'in', ['Creating', 'Modifying'])
      .where(by, '=', p.key),
  );
}
const rulesOfFilterReady = readyStatement('filter_id');
const ruleReady = readyStatement('id');

/** Transitional rules (Creating/Modifying) become Created: the end of an asynchronous change. */
export async function rulesReady(
  db: Executor,
  where: { filterId: string } | { ruleId: string },
): Promise<void> {
  if ('filterId' in where) await rulesOfFilterReady.run(db, { key: where.filterId });
  else await ruleReady.run(db, { key: where.ruleId });
}

const ruleDelete = prepared((db, p: { ruleId: string }) =>
  db.deleteFrom('traffic_mirror_filter_rules').where('id', '=', p.ruleId),
);

export async function deleteRule(db: Executor, ruleId: string): Promise<void> {
  await ruleDelete.run(db, { ruleId });
}

/** Statuses of the sessions that use the filter (empty when none does). */
export async function sessionsUsingFilter(
  db: Executor,
  filterId: string,
): Promise<Array<{ id: string; status: string }>> {
  return db
    .selectFrom('traffic_mirror_sessions')
    .select(['id', 'status'])
    .where('filter_id', '=', filterId)
    .execute();
}

export interface FilterQuery {
  readonly accountId: string;
  readonly regionId: string;
  readonly ids: readonly string[];
  readonly name: string | undefined;
  readonly resourceGroupId: string | undefined;
  readonly tags: readonly TagFilter[];
  /** Only filters created after this sequence number (keyset pagination). */
  readonly afterSeq: number | undefined;
  readonly limit: number;
}

/** One page of filters in creation order (up to limit + 1 rows, to tell whether more follow), and the total. */
export async function listFilters(
  db: Executor,
  query: FilterQuery,
): Promise<{ rows: FilterRow[]; total: number }> {
  let q = db
    .selectFrom('traffic_mirror_filters as f')
    .where('f.account_id', '=', query.accountId)
    .where('f.region_id', '=', query.regionId);
  if (query.ids.length > 0) q = q.where('f.id', 'in', query.ids);
  if (query.name !== undefined) q = q.where('f.name', '=', query.name);
  if (query.resourceGroupId !== undefined) q = q.where('f.resource_group_id', '=', query.resourceGroupId);
  for (const tag of query.tags) {
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('tags as t')
          .select('t.tag_key')
          .whereRef('t.resource_id', '=', 'f.id')
          .where('t.tag_key', '=', tag.Key)
          .$if(tag.Value !== undefined, (sq) => sq.where('t.tag_value', '=', tag.Value ?? '')),
      ),
    );
  }
  const totalRow = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  let page = q.selectAll('f');
  if (query.afterSeq !== undefined) page = page.where('f.seq', '>', query.afterSeq);
  const rows = await page
    .orderBy('f.seq')
    .limit(query.limit + 1)
    .execute();
  return { rows, total: Number(totalRow?.n ?? 0) };
}
