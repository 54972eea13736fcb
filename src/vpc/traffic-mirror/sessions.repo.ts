/**
 * Traffic mirror sessions and their source ENIs in the store. Every state change is a conditional
 * update on the current status, so that concurrent requests (on one node or several sharing
 * PostgreSQL) cannot both win; the caller reads numUpdatedRows to tell.
 */
import { type Selectable, sql } from 'kysely';
import type { Executor, TrafficMirrorSessionsTable } from '../../store/database.js';
import {
  byCodePoint,
  jsonArrayAgg,
  jsonColumn,
  jsonTuple,
  statementsAreRemote,
} from '../../store/dialect.js';
import { type ListParams, listOf, listParams, prepared, preparedShapes } from '../../store/prepared.js';
import { type FilterState, filterOfOwnerQuery, filterStateOf } from './filters.repo.js';
import { removeTags, type TagFilter, type TagRow, tagsOf } from './tags.repo.js';

export type SessionRow = Selectable<TrafficMirrorSessionsTable>;
export type NewSession = Omit<SessionRow, 'seq'>;

/** The session fields an update may change. */
export type SessionFields = Partial<
  Pick<
    SessionRow,
    | 'name'
    | 'description'
    | 'target_id'
    | 'target_type'
    | 'filter_id'
    | 'virtual_network_id'
    | 'priority'
    | 'packet_length'
    | 'enabled'
  >
>;

function sessionValues(p: NewSession) {
  return {
    id: p.id,
    account_id: p.account_id,
    region_id: p.region_id,
    name: p.name,
    description: p.description,
    target_id: p.target_id,
    target_type: p.target_type,
    filter_id: p.filter_id,
    virtual_network_id: p.virtual_network_id,
    priority: p.priority,
    packet_length: p.packet_length,
    enabled: p.enabled,
    status: p.status,
    business_status: p.business_status,
    resource_group_id: p.resource_group_id,
    created_at: p.created_at,
  };
}

const sessionInsert = prepared((db, p: NewSession) =>
  db.insertInto('traffic_mirror_sessions').values(sessionValues(p)),
);

export async function insertSession(db: Executor, session: NewSession): Promise<void> {
  await sessionInsert.run(db, session);
}

/**
 * A new session and its n sources in one statement, a data-modifying CTE: on PostgreSQL a
 * statement is a round trip, and these two writes read nothing another transaction could change.
 */
const sessionWithSourcesInsert = preparedShapes(String, (db, p: NewSession & SourceParams, n: number) =>
  db
    .with('s', (w) => w.insertInto('traffic_mirror_sessions').values(sessionValues(p)).returning('id'))
    .insertInto('traffic_mirror_session_sources')
    .values(sourceRowValues(p.id, p, n)),
);

/** Inserts a new session with its first sources, at positions 1…n. */
export async function insertSessionWithSources(
  db: Executor,
  session: NewSession,
  sourceIds: readonly string[],
): Promise<void> {
  if (!statementsAreRemote(db) || sourceIds.length === 0) {
    await insertSession(db, session);
    await addSources(db, session.id, sourceIds, 0);
    return;
  }
  // A fresh literal, not a spread of the session: V8 builds it in well under a microsecond.
  const rows = sourceParams(sourceIds, 1, sessionValues(session));
  await sessionWithSourcesInsert(sourceIds.length).run(db, rows);
}

/**
 * Every column of a session, named: a statement that lists its columns reads them by position on
 * SQLite (store/sqlite-dialect.ts), which is safe only when the text fixes them. The record type
 * makes the compiler refuse a list that misses a column of the table.
 */
const SESSION_COLUMN_SET: Record<keyof TrafficMirrorSessionsTable, true> = {
  seq: true,
  id: true,
  account_id: true,
  region_id: true,
  name: true,
  description: true,
  target_id: true,
  target_type: true,
  filter_id: true,
  virtual_network_id: true,
  priority: true,
  packet_length: true,
  enabled: true,
  status: true,
  business_status: true,
  resource_group_id: true,
  created_at: true,
};
const SESSION_COLUMNS = Object.keys(SESSION_COLUMN_SET) as Array<keyof TrafficMirrorSessionsTable>;
const SESSION_COLUMNS_OF_S = SESSION_COLUMNS.map((c) => `s.${c}` as const);

const sessionOfOwner = prepared((db, p: { sessionId: string; accountId: string; regionId: string }) =>
  db
    .selectFrom('traffic_mirror_sessions')
    .select(SESSION_COLUMNS)
    .where('id', '=', p.sessionId)
    .where('account_id', '=', p.accountId)
    .where('region_id', '=', p.regionId),
);

/** One session of the account in the region; undefined when absent (or another owner's). */
export async function findSession(
  db: Executor,
  accountId: string,
  regionId: string,
  sessionId: string,
): Promise<SessionRow | undefined> {
  return sessionOfOwner.first(db, { sessionId, accountId, regionId });
}

/** Created -> Modifying with no other field (adding or removing sources). */
const modifyingFromCreated = prepared((db, p: { sessionId: string }) =>
  db
    .updateTable('traffic_mirror_sessions')
    .set({ status: 'Modifying' })
    .where('id', '=', p.sessionId)
    .where('status', '=', 'Created'),
);

const deletingOnFilter = prepared((db, p: { sessionId: string; filterId: string }) =>
  db
    .updateTable('traffic_mirror_sessions')
    .set({ status: 'Deleting' })
    .where('id', '=', p.sessionId)
    .where('status', '=', 'Created')
    .where('filter_id', '=', p.filterId),
);

/**
 * Created -> Deleting, only while the session still uses the filter the delete looked at; false
 * otherwise. A session moved to another filter meanwhile (on another node) goes back to Created
 * at once when the move's transition takes no time, and that filter's rules were never checked.
 */
export async function deletingIfOnFilter(
  db: Executor,
  sessionId: string,
  filterId: string,
): Promise<boolean> {
  return (await deletingOnFilter.run(db, { sessionId, filterId })) > 0;
}

/** Created -> Modifying, with these fields set; false when it is not (any longer) Created. */
export async function changeCreatedSession(
  db: Executor,
  sessionId: string,
  fields: SessionFields = {},
): Promise<boolean> {
  if (Object.keys(fields).length === 0) return (await modifyingFromCreated.run(db, { sessionId })) > 0;
  const r = await db
    .updateTable('traffic_mirror_sessions')
    .set({ ...fields, status: 'Modifying' })
    .where('id', '=', sessionId)
    .where('status', '=', 'Created')
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

const readyFromChanging = prepared((db, p: { sessionId: string }) =>
  db
    .updateTable('traffic_mirror_sessions')
    .set({ status: 'Created' })
    .where('id', '=', p.sessionId)
    .where('status', 'in', ['Creating', 'Modifying']),
);

/** Creating/Modifying -> Created: the end of an asynchronous change. */
export async function sessionReady(db: Executor, sessionId: string): Promise<void> {
  await readyFromChanging.run(db, { sessionId });
}

const deletingSession = prepared((db, p: { sessionId: string }) =>
  db.deleteFrom('traffic_mirror_sessions').where('id', '=', p.sessionId).where('status', '=', 'Deleting'),
);
const sourcesOfSession = prepared((db, p: { sessionId: string }) =>
  db.deleteFrom('traffic_mirror_session_sources').where('session_id', '=', p.sessionId),
);

/**
 * The sources and tags of a removed session in one statement, for PostgreSQL, where each statement
 * is a round trip. Not in the statement that deletes the session: every part of a statement reads
 * the snapshot taken when it began, and the session delete may first wait for a TagResources that
 * holds the session's row; the tag it then commits must be seen, so this runs after that wait.
 */
const detailsOfRemoved = prepared((db, p: { sessionId: string }) =>
  db
    .with('sources', (qb) =>
      qb.deleteFrom('traffic_mirror_session_sources').where('session_id', '=', p.sessionId),
    )
    .deleteFrom('tags')
    .where('resource_id', '=', p.sessionId),
);

/** Removes a Deleting session with its sources and tags. */
export async function removeSession(db: Executor, sessionId: string): Promise<void> {
  if ((await deletingSession.run(db, { sessionId })) === 0) return;
  if (statementsAreRemote(db)) {
    await detailsOfRemoved.run(db, { sessionId });
    return;
  }
  await sourcesOfSession.run(db, { sessionId });
  await removeTags(db, sessionId, 'all');
}

const sessionCount = prepared((db, p: { accountId: string; regionId: string }) =>
  db
    .selectFrom('session_counts')
    .select('n')
    .where('account_id', '=', p.accountId)
    .where('region_id', '=', p.regionId),
);

/** The account's sessions in the region, in any status: a counter that triggers keep (migration 0004). */
export async function countSessions(db: Executor, accountId: string, regionId: string): Promise<number> {
  const r = await sessionCount.first(db, { accountId, regionId });
  return Number(r?.n ?? 0);
}

const sessionCountLock = prepared((db, p: { accountId: string; regionId: string }) =>
  db
    .insertInto('session_counts')
    .values({ account_id: p.accountId, region_id: p.regionId, n: 0 })
    .onConflict((oc) =>
      oc.columns(['account_id', 'region_id']).doUpdateSet((eb) => ({ n: eb.ref('session_counts.n') })),
    )
    .returning('n'),
);

/**
 * Serializes the session quota checks of one account in one region, across nodes: the account's
 * counter row for the region stays locked until the transaction ends, so two creates cannot both
 * take the last free slot, nor two source additions the last place of an ENI (ENIs are regional).
 * Returns the count as of the lock: an upsert waits for the row and then reads its latest version,
 * where a plain read after a lock in the same statement would see the statement's older snapshot.
 * A row per region, not per account, so that creates in different regions do not wait for each
 * other. Take it as a transaction's last lock: inserting or deleting a session takes this row too (the
 * counting trigger), after whatever filter or session row that transaction locked first.
 */
export async function lockSessionQuota(db: Executor, accountId: string, regionId: string): Promise<number> {
  const r = await sessionCountLock.first(db, { accountId, regionId });
  return Number(r?.n ?? 0);
}

/** The sessions of the account and region at this priority (one, by the unique index). */
function priorityHolderQuery(db: Executor, p: { accountId: string; regionId: string; priority: number }) {
  return db
    .selectFrom('traffic_mirror_sessions')
    .select('id')
    .where('account_id', '=', p.accountId)
    .where('region_id', '=', p.regionId)
    .where('priority', '=', p.priority);
}

const priorityOwner = prepared(priorityHolderQuery);

/** The session of the account and region that holds this priority, other than `exceptId`. */
export async function priorityHolder(
  db: Executor,
  accountId: string,
  regionId: string,
  priority: number,
  exceptId?: string,
): Promise<string | undefined> {
  if (exceptId === undefined) return (await priorityOwner.first(db, { accountId, regionId, priority }))?.id;
  const r = await priorityHolderQuery(db, { accountId, regionId, priority })
    .where('id', '!=', exceptId)
    .executeTakeFirst();
  return r?.id;
}

/** The sessions of the account and region that use this VNI. */
function vniHoldersQuery(db: Executor, p: { accountId: string; regionId: string; vni: number }) {
  return db
    .selectFrom('traffic_mirror_sessions')
    .select('id')
    .where('account_id', '=', p.accountId)
    .where('region_id', '=', p.regionId)
    .where('virtual_network_id', '=', p.vni);
}

const vniHolder = prepared((db, p: { accountId: string; regionId: string; vni: number }) =>
  vniHoldersQuery(db, p).limit(sql.lit(1)),
);

export async function vniInUse(
  db: Executor,
  accountId: string,
  regionId: string,
  vni: number,
): Promise<boolean> {
  return (await vniHolder.first(db, { accountId, regionId, vni })) !== undefined;
}

const sourcesOfIds = preparedShapes(String, (db, p: ListParams, n: number) =>
  db
    .selectFrom('traffic_mirror_session_sources')
    .select(['session_id', 'source_id'])
    .where('session_id', 'in', listOf(p, n))
    .orderBy('session_id')
    .orderBy('position'),
);

/** Source ids of each session, in the order they were added. One query for the whole page. */
export async function sourcesOf(db: Executor, sessionIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (sessionIds.length === 0) return out;
  const rows = await sourcesOfIds(sessionIds.length).all(db, listParams(sessionIds));
  for (const r of rows) {
    const list = out.get(r.session_id) ?? [];
    list.push(r.source_id);
    out.set(r.session_id, list);
  }
  return out;
}

const lastPosition = prepared((db, p: { sessionId: string }) =>
  db
    .selectFrom('traffic_mirror_session_sources')
    .select((eb) => eb.fn.max('position').as('p'))
    .where('session_id', '=', p.sessionId),
);

/** The sources as v0…, their positions as q0…. */
type SourceParams = ListParams & Readonly<Record<`q${number}`, number>>;

/** Adds the sources, at positions from `first` on, to `into` (a fresh object, see listParams). */
function sourceParams<T extends object>(
  sourceIds: readonly string[],
  first: number,
  into: T,
): T & SourceParams {
  const params: Record<string, unknown> = listParams(sourceIds, into);
  for (const i of sourceIds.keys()) params[`q${i}`] = first + i;
  return params as T & SourceParams;
}

/** The values of n source rows of one session, for a statement builder (see sourceParams). */
function sourceRowValues(sessionId: string, p: SourceParams, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    session_id: sessionId,
    source_id: p[`v${i}`] ?? '',
    position: p[`q${i}`] ?? 0,
  }));
}

const sourcesInsert = preparedShapes(
  String,
  (db, p: SourceParams & { readonly sessionId: string }, n: number) =>
    db.insertInto('traffic_mirror_session_sources').values(sourceRowValues(p.sessionId, p, n)),
);

/**
 * Appends sources after the session's current last one; `knownLast` when the caller knows it
 * (0 for a session it has just inserted) saves reading it.
 */
export async function addSources(
  db: Executor,
  sessionId: string,
  sourceIds: readonly string[],
  knownLast?: number,
): Promise<void> {
  if (sourceIds.length === 0) return;
  const last = knownLast ?? Number((await lastPosition.first(db, { sessionId }))?.p ?? 0);
  await sourcesInsert(sourceIds.length).run(db, sourceParams(sourceIds, last + 1, { sessionId }));
}

export async function removeSources(
  db: Executor,
  sessionId: string,
  sourceIds: readonly string[],
): Promise<void> {
  if (sourceIds.length === 0) return;
  await db
    .deleteFrom('traffic_mirror_session_sources')
    .where('session_id', '=', sessionId)
    .where('source_id', 'in', sourceIds)
    .execute();
}

/** For each of n sources: how many sessions of the account and region it is in. */
function perSourceQuery(
  db: Executor,
  p: ListParams & { readonly accountId: string; readonly regionId: string },
  n: number,
) {
  return db
    .selectFrom('traffic_mirror_session_sources as src')
    .innerJoin('traffic_mirror_sessions as s', 's.id', 'src.session_id')
    .select(['src.source_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('src.source_id', 'in', listOf(p, n))
    .where('s.account_id', '=', p.accountId)
    .where('s.region_id', '=', p.regionId)
    .groupBy('src.source_id');
}

const perSource = preparedShapes(String, perSourceQuery);

/** For each source: how many sessions of the account and region mirror it already. */
export async function sessionsPerSource(
  db: Executor,
  accountId: string,
  regionId: string,
  sourceIds: readonly string[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (sourceIds.length === 0) return out;
  const rows = await perSource(sourceIds.length).all(db, listParams(sourceIds, { accountId, regionId }));
  for (const r of rows) out.set(r.source_id, Number(r.n));
  return out;
}

/**
 * What a Create checks before it takes the session quota's lock, read in one statement: each
 * statement is a round trip to PostgreSQL, and this one replaces three. It reads from the filter's
 * row, so without that row (an unknown filter) it finds nothing, and the Create fails on that.
 */
const createChecks_ = prepared(
  (db, p: { filterId: string; accountId: string; regionId: string; priority: number }) =>
    filterOfOwnerQuery(db, p).select((eb) => [
      eb
        .selectFrom('accounts')
        .select('default_resource_group_id')
        .where('id', '=', p.accountId)
        .as('default_resource_group_id'),
      priorityHolderQuery(db, p).limit(sql.lit(1)).as('priority_holder'),
    ]),
);

export interface CreateChecks {
  readonly filter: FilterState;
  /** Undefined when the account has no row (the caller then uses the fallback). */
  readonly defaultResourceGroupId: string | undefined;
  /** The session of the account and region that holds the priority already. */
  readonly priorityHolder: string | undefined;
}

/** Undefined when the account has no such filter in the region. */
export async function createChecks(
  db: Executor,
  accountId: string,
  regionId: string,
  filterId: string,
  priority: number,
): Promise<CreateChecks | undefined> {
  const row = await createChecks_.first(db, { filterId, accountId, regionId, priority });
  if (!row) return undefined;
  return {
    filter: filterStateOf(row),
    defaultResourceGroupId: row.default_resource_group_id ?? undefined,
    priorityHolder: row.priority_holder ?? undefined,
  };
}

/**
 * What a Create checks under the session quota's lock, in one statement: the most sessions any
 * of the new sources is in already, and whether a candidate VNI is taken. Read after the lock, as
 * a statement of its own, so that PostgreSQL reads the sessions committed while it waited.
 */
const placementChecks_ = preparedShapes(
  String,
  (
    db,
    p: ListParams & { readonly accountId: string; readonly regionId: string; readonly vni: number },
    n: number,
  ) =>
    db.selectNoFrom((eb) => [
      eb
        .selectFrom(perSourceQuery(db, p, n).as('per'))
        .select((e) => e.fn.max('per.n').as('most'))
        .as('most'),
      eb.exists(vniHoldersQuery(db, p)).as('vni_taken'),
    ]),
);

export interface PlacementChecks {
  /** The most sessions of the account and region that one of the sources is in already. */
  readonly mostPerSource: number;
  readonly vniTaken: boolean;
}

export async function placementChecks(
  db: Executor,
  accountId: string,
  regionId: string,
  sourceIds: readonly string[],
  vni: number,
): Promise<PlacementChecks> {
  if (sourceIds.length === 0)
    return { mostPerSource: 0, vniTaken: await vniInUse(db, accountId, regionId, vni) };
  const row = await placementChecks_(sourceIds.length).first(
    db,
    listParams(sourceIds, { accountId, regionId, vni }),
  );
  return { mostPerSource: Number(row?.most ?? 0), vniTaken: Number(row?.vni_taken ?? 0) === 1 };
}

/** What a List matches. */
export interface SessionFilters {
  readonly regionId: string;
  readonly ids: readonly string[];
  readonly name: string | undefined;
  readonly sourceId: string | undefined;
  readonly targetId: string | undefined;
  readonly filterId: string | undefined;
  readonly virtualNetworkId: number | undefined;
  readonly priority: number | undefined;
  readonly enabled: boolean | undefined;
  readonly resourceGroupId: string | undefined;
  readonly tags: readonly TagFilter[];
}

/** Whose sessions, and which page of them. */
export interface SessionPage {
  readonly accountId: string;
  /** Only sessions created after this sequence number (keyset pagination). */
  readonly afterSeq: number | undefined;
  readonly limit: number;
}

/** Which of the query's optional parts a call uses: the statement's SQL depends on this only. */
interface ListShape {
  readonly ids: number;
  readonly source: boolean;
  readonly name: boolean;
  readonly target: boolean;
  readonly filter: boolean;
  readonly vni: boolean;
  readonly priority: boolean;
  readonly enabled: boolean;
  readonly group: boolean;
  /** One entry per tag filter: whether it names a value. */
  readonly tags: readonly boolean[];
  readonly after: boolean;
  /** Written into the SQL: SQLite plans a literal LIMIT better than a bound one. */
  readonly limit: number;
}

/** The query's values under fixed placeholder names (ids as v0…, tags as k0/t0…). */
type ListValues = ListParams &
  Readonly<Record<`k${number}` | `t${number}`, string>> & {
    readonly accountId: string;
    readonly regionId: string;
    readonly sourceId: string;
    readonly name: string;
    readonly targetId: string;
    readonly filterId: string;
    readonly vni: number;
    readonly priority: number;
    readonly enabled: number;
    readonly group: string;
    readonly afterSeq: number;
  };

function shapeKey(s: ListShape): string {
  const flags = [s.source, s.name, s.target, s.filter, s.vni, s.priority, s.enabled, s.group, s.after];
  return `${s.ids}|${flags.map(Number).join('')}|${s.tags.map(Number).join('')}|${s.limit}`;
}

const UNFILTERED = shapeKey({
  ids: 0,
  source: false,
  name: false,
  target: false,
  filter: false,
  vni: false,
  priority: false,
  enabled: false,
  group: false,
  tags: [],
  after: false,
  limit: 0,
});

/** Every condition of a List call, from placeholders (see preparedShapes). */
function matching(db: Executor, p: ListValues, shape: ListShape) {
  // With ids or a source given, every other condition is written as an expression no index can
  // serve: SQLite (without statistics) would otherwise walk all of the account's sessions through
  // the (account, region, …) indexes to save sorting a handful of rows. coalesce(x, x) is x.
  const pinned = shape.ids > 0 || shape.source;
  const col = (name: SessionColumn) =>
    pinned ? sql<unknown>`coalesce(${sql.ref(name)}, ${sql.ref(name)})` : sql.ref(name);
  let q = db
    .selectFrom('traffic_mirror_sessions as s')
    .where(col('s.account_id'), '=', p.accountId)
    .where(col('s.region_id'), '=', p.regionId);
  if (shape.ids > 0) q = q.where('s.id', 'in', listOf(p, shape.ids));
  if (shape.source) {
    q = q.where('s.id', 'in', (eb) =>
      eb
        .selectFrom('traffic_mirror_session_sources as src')
        .select('src.session_id')
        .where('src.source_id', '=', p.sourceId),
    );
  }
  if (shape.name) q = q.where(col('s.name'), '=', p.name);
  if (shape.target) q = q.where(col('s.target_id'), '=', p.targetId);
  if (shape.filter) q = q.where(col('s.filter_id'), '=', p.filterId);
  if (shape.vni) q = q.where(col('s.virtual_network_id'), '=', p.vni);
  if (shape.priority) q = q.where(col('s.priority'), '=', p.priority);
  if (shape.enabled) q = q.where(col('s.enabled'), '=', p.enabled);
  if (shape.group) q = q.where(col('s.resource_group_id'), '=', p.group);
  for (const [i, withValue] of shape.tags.entries()) {
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('tags as t')
          .select('t.tag_key')
          .whereRef('t.resource_id', '=', 's.id')
          .where('t.tag_key', '=', p[`k${i}`] ?? '')
          .$if(withValue, (sq) => sq.where('t.tag_value', '=', p[`t${i}`] ?? '')),
      ),
    );
  }
  return { q, col };
}

function page(db: Executor, p: ListValues, shape: ListShape) {
  const { q, col } = matching(db, p, shape);
  return q
    .select(SESSION_COLUMNS_OF_S)
    .$if(shape.after, (rows) => rows.where(col('s.seq'), '>', p.afterSeq))
    .orderBy('s.seq')
    .limit(sql.lit(shape.limit));
}

const pageOf = preparedShapes(shapeKey, page);

/**
 * The page with each session's sources (in the order they were added) and tags (by key) as JSON
 * arrays: one statement instead of three. Used where a statement is a round trip (PostgreSQL); on
 * SQLite three plain statements cost less than one that aggregates JSON.
 */
const pageWithDetailsOf = preparedShapes(shapeKey, (db, p: ListValues, shape: ListShape) => {
  const ref = (name: string) => sql.ref(name);
  return page(db, p, shape).select([
    sql<unknown>`(select ${jsonArrayAgg(db, ref('src.source_id'), ref('src.position'))} from traffic_mirror_session_sources src where src.session_id = s.id)`.as(
      'source_ids',
    ),
    sql<unknown>`(select ${jsonArrayAgg(db, jsonTuple(db, ref('t.tag_key'), ref('t.tag_value')), byCodePoint(db, 't.tag_key'))} from tags t where t.resource_id = s.id)`.as(
      'tag_pairs',
    ),
  ]);
});

const countOf = preparedShapes(shapeKey, (db, p: ListValues, shape: ListShape) =>
  matching(db, p, shape).q.select((eb) => eb.fn.countAll<number>().as('n')),
);

/** A session of a List page with its sources and tags. */
export interface ListedSession {
  readonly session: SessionRow;
  readonly sourceIds: readonly string[];
  readonly tags: readonly TagRow[];
}

function listed(row: SessionRow & { source_ids: unknown; tag_pairs: unknown }): ListedSession {
  const pairs = jsonColumn(row.tag_pairs) as [string, string][];
  return {
    // The row keeps its two JSON columns: copying the other seventeen away costs more than they do.
    session: row,
    sourceIds: jsonColumn(row.source_ids) as string[],
    tags: pairs.map(([key, value]) => ({ key, value })),
  };
}

/** Sources and tags of a page's sessions, one statement each (see pageWithDetailsOf for why). */
async function withDetails(db: Executor, page: readonly SessionRow[]): Promise<ListedSession[]> {
  const ids = page.map((r) => r.id);
  const sources = await sourcesOf(db, ids);
  const tags = await tagsOf(db, ids);
  return page.map((session) => ({
    session,
    sourceIds: sources.get(session.id) ?? [],
    tags: tags.get(session.id) ?? [],
  }));
}

/**
 * One page of sessions in creation order with their sources and tags, whether more follow, and
 * the number of all matches. Given ids (Terraform's read) or a source ENI, the query is driven by
 * the id index (through the sources index for an ENI) and touches only those sessions. Each shape
 * of query is built once (store/prepared.ts). The filters and the page come apart so that a
 * caller passes its request on as it is: V8 builds a merged copy (`{ ...request, accountId, … }`)
 * slowly, in microseconds.
 */
export async function listSessions(
  db: Executor,
  query: SessionFilters,
  page: SessionPage,
): Promise<{ rows: ListedSession[]; more: boolean; total: number }> {
  const { accountId, afterSeq, limit } = page;
  const ids = [...new Set(query.ids)];
  const shape: ListShape = {
    ids: ids.length,
    source: query.sourceId !== undefined,
    name: query.name !== undefined,
    target: query.targetId !== undefined,
    filter: query.filterId !== undefined,
    vni: query.virtualNetworkId !== undefined,
    priority: query.priority !== undefined,
    enabled: query.enabled !== undefined,
    group: query.resourceGroupId !== undefined,
    tags: query.tags.map((t) => t.Value !== undefined),
    after: afterSeq !== undefined,
    limit: limit + 1,
  };
  const values: Record<string, string | number> = {
    accountId,
    regionId: query.regionId,
    sourceId: query.sourceId ?? '',
    name: query.name ?? '',
    targetId: query.targetId ?? '',
    filterId: query.filterId ?? '',
    vni: query.virtualNetworkId ?? 0,
    priority: query.priority ?? 0,
    enabled: query.enabled ? 1 : 0,
    group: query.resourceGroupId ?? '',
    afterSeq: afterSeq ?? 0,
  };
  listParams(ids, values);
  for (const [i, tag] of query.tags.entries()) {
    values[`k${i}`] = tag.Key;
    values[`t${i}`] = tag.Value ?? '';
  }
  const p = values as ListValues;
  // One row past the page tells whether more follow.
  let rows: ListedSession[];
  let more: boolean;
  if (statementsAreRemote(db)) {
    const found = await pageWithDetailsOf(shape).all(db, p);
    more = found.length > limit;
    rows = found.slice(0, limit).map(listed);
  } else {
    const found = await pageOf(shape).all(db, p);
    more = found.length > limit;
    rows = await withDetails(db, found.slice(0, limit));
  }
  // A first page that holds every match already knows the total; only longer lists are counted.
  if (afterSeq === undefined && !more) return { rows, more, total: rows.length };
  // Without filters the total is the account's count in the region, kept up to date by triggers.
  const counted: ListShape = { ...shape, after: false, limit: 0 };
  if (shapeKey(counted) === UNFILTERED)
    return { rows, more, total: await countSessions(db, accountId, query.regionId) };
  const totalRow = await countOf(counted).first(db, p);
  return { rows, more, total: Number(totalRow?.n ?? 0) };
}

type SessionColumn = `s.${keyof TrafficMirrorSessionsTable}`;

/**
 * Activates traffic mirroring for the account in the region; false when it was active already.
 * One statement, so two concurrent activations cannot both succeed.
 */
export async function openService(db: Executor, accountId: string, regionId: string): Promise<boolean> {
  const r = await db
    .insertInto('service_status')
    .values({ account_id: accountId, region_id: regionId, enabled: 1 })
    .onConflict((oc) =>
      oc
        .columns(['account_id', 'region_id'])
        .doUpdateSet({ enabled: 1 })
        .where('service_status.enabled', '=', 0),
    )
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function serviceEnabled(db: Executor, accountId: string, regionId: string): Promise<boolean> {
  const r = await db
    .selectFrom('service_status')
    .select('enabled')
    .where('account_id', '=', accountId)
    .where('region_id', '=', regionId)
    .executeTakeFirst();
  return r?.enabled === 1;
}
