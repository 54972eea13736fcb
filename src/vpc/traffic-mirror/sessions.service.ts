/**
 * The rules of traffic mirror sessions (spec sessions.md; DeleteTrafficMirrorSession as the seed
 * documents it): existence, status, filter, priority, quota and source checks, then one state
 * change in the request's transaction with its transition scheduled in the same transaction.
 * A DryRun runs every check and stops with DryRunOperation before the first write.
 */
import { randomInt } from 'node:crypto';
import type { OperationContext } from '../../api/operation.js';
import { wireName } from '../../api/schema.js';
import { newResourceId } from '../../ids.js';
import type { Appliers } from '../../lifecycle/lifecycle.js';
import { protocolErrors } from '../../protocol/errors.js';
import { isUniqueViolation } from '../../store/errors.js';
import { checkTags, decodeNextToken, defaultResourceGroup, givenResourceGroup, type Tag } from './common.js';
import { filterErrors, serviceErrors, sessionErrors } from './errors.js';
import { type FilterState, filterState, lockCreatedFilter } from './filters.repo.js';
import {
  addSources,
  changeCreatedSession,
  createChecks,
  deletingIfOnFilter,
  findSession,
  insertSessionWithSources,
  type ListedSession,
  listSessions,
  lockSessionQuota,
  openService,
  placementChecks,
  priorityHolder,
  removeSession,
  removeSources,
  type SessionFields,
  type SessionFilters,
  type SessionRow,
  serviceEnabled,
  sessionReady,
  sessionsPerSource,
  sourcesOf,
  vniInUse,
} from './sessions.repo.js';
import { putTags } from './tags.repo.js';

export const SESSION_RESOURCE_TYPE = 'TRAFFICMIRRORSESSION';
/** Exact case, as Terraform validates them; the schema enforces the enum. */
export const TARGET_TYPES = ['NetworkInterface', 'SLB'] as const;

const DEFAULT_PACKET_LENGTH = 1500;
const MAX_VNI = 16_777_215;
const SOURCES_PARAM = 'TrafficMirrorSourceIds';

/** The transitions of a session: Creating/Modifying end in Created, Deleting ends with the row gone. */
export const sessionAppliers: Appliers = {
  ready: (tx, id) => sessionReady(tx, id),
  delete: (tx, id) => removeSession(tx, id),
};

/** A NetworkInterface target is an ENI, an SLB target a load balancer (spec sessions.md 14.8). */
function checkTarget(targetId: string, targetType: string): void {
  const pattern = targetType === 'SLB' ? /^lb-[A-Za-z0-9]{1,64}$/ : /^eni-[A-Za-z0-9]{1,64}$/;
  if (!pattern.test(targetId)) throw protocolErrors.invalidParameter('TrafficMirrorTargetId');
}

/** A source id named twice in one request is an error naming the second occurrence. */
function checkDistinct(sourceIds: readonly string[]): void {
  const seen = new Set<string>();
  sourceIds.forEach((id, i) => {
    if (seen.has(id)) throw protocolErrors.invalidParameter(wireName(SOURCES_PARAM, sourceIds, i));
    seen.add(id);
  });
}

/** An ENI cannot mirror to itself (spec sessions.md, assumption 8): a source equal to the target is refused. */
function checkNotTarget(sourceIds: readonly string[], targetId: string): void {
  const at = sourceIds.indexOf(targetId);
  if (at >= 0) throw protocolErrors.invalidParameter(wireName(SOURCES_PARAM, sourceIds, at));
}

async function requireSession(
  ctx: OperationContext,
  regionId: string,
  sessionId: string,
): Promise<SessionRow> {
  const session = await findSession(ctx.tx, ctx.accountId, regionId, sessionId);
  if (!session) throw sessionErrors.notFound();
  return session;
}

async function requireCreated(
  ctx: OperationContext,
  regionId: string,
  sessionId: string,
): Promise<SessionRow> {
  const session = await requireSession(ctx, regionId, sessionId);
  if (session.status !== 'Created') throw sessionErrors.incorrectStatus();
  return session;
}

/** What a change of a session may depend on, besides its status. */
const SESSION_FIELDS = [
  'name',
  'description',
  'target_id',
  'target_type',
  'filter_id',
  'virtual_network_id',
  'priority',
  'packet_length',
  'enabled',
  // Not resource_group_id: MoveResourceGroup relabels a session in any status, and nothing a change
  // checks depends on the group.
] as const satisfies readonly (keyof SessionRow)[];

/**
 * Run once this request's conditional status change holds the session's row. Its checks used the
 * session and sources read before: when transitions complete within their call (a zero delay),
 * another change may have committed in between and left the session Created again, so the status
 * condition alone passes. Then the session is not as checked, and the change is refused as one
 * made while the session was changing.
 */
async function requireUnchangedSince(
  ctx: OperationContext,
  before: SessionRow,
  sourcesBefore: readonly string[],
  own: { readonly fields?: SessionFields; readonly sources?: readonly string[] },
): Promise<void> {
  const now = await findSession(ctx.tx, ctx.accountId, before.region_id, before.id);
  const changed =
    !now ||
    SESSION_FIELDS.some((f) => !(own.fields && f in own.fields) && now[f] !== before[f]) ||
    ((await sourcesOf(ctx.tx, [before.id])).get(before.id) ?? []).join('\n') !==
      (own.sources ?? sourcesBefore).join('\n');
  if (changed) throw sessionErrors.incorrectStatus();
}

/** The filter a session is to use must exist for this account and region and be idle. */
function requireUsableFilter(filter: FilterState | undefined): void {
  if (!filter) throw filterErrors.notFound();
  if (filter.busy) throw filterErrors.incorrectStatus();
}

/**
 * The filter's state, looked at once its row is held: a call that writes holds the row first, to
 * the end of its transaction (a filter that is not Created is left alone and shows as busy), so a
 * rule change or a delete of the filter racing with it (on any node) is either seen by this one
 * look or sees the session the call writes. A DryRun only looks. (Create does the same with the
 * look it shares with its other checks.)
 */
async function holdFilter(
  ctx: OperationContext,
  regionId: string,
  filterId: string,
): Promise<FilterState | undefined> {
  if (!ctx.dryRun) await lockCreatedFilter(ctx.tx, ctx.accountId, regionId, filterId);
  return filterState(ctx.tx, ctx.accountId, regionId, filterId);
}

async function holdUsableFilter(ctx: OperationContext, regionId: string, filterId: string): Promise<void> {
  requireUsableFilter(await holdFilter(ctx, regionId, filterId));
}

/** A priority another session holds. Assumed code: the API documents the uniqueness but not its error (docs/fidelity.md). */
function refuseHeldPriority(holder: string | undefined): void {
  if (holder !== undefined) throw protocolErrors.invalidParameter('Priority');
}

async function requireFreePriority(
  ctx: OperationContext,
  regionId: string,
  priority: number,
  exceptId?: string,
): Promise<void> {
  refuseHeldPriority(await priorityHolder(ctx.tx, ctx.accountId, regionId, priority, exceptId));
}

/** Sources of which the busiest is in `most` sessions already may each join one more, up to the limit. */
function requireRoomPerSource(ctx: OperationContext, most: number): void {
  const limit = ctx.services.limits.sessionsPerSource;
  if (most + 1 > limit) throw sessionErrors.quotaSessionsPerSource(limit);
}

/** Every source may join one more session without passing the per-source limit. */
async function requireSourceCapacity(
  ctx: OperationContext,
  regionId: string,
  sourceIds: readonly string[],
): Promise<void> {
  const counts = await sessionsPerSource(ctx.tx, ctx.accountId, regionId, sourceIds);
  requireRoomPerSource(ctx, Math.max(0, ...counts.values()));
}

const randomVni = (): number => randomInt(0, MAX_VNI + 1);

async function randomFreeVni(ctx: OperationContext, regionId: string): Promise<number> {
  for (let i = 0; i < 32; i++) {
    const vni = randomVni();
    if (!(await vniInUse(ctx.tx, ctx.accountId, regionId, vni))) return vni;
  }
  // 32 collisions in 2^24 values means the space is crowded; duplicates are allowed anyway.
  return randomVni();
}

/** A unique-index violation on priority: another request took it between our check and write. */
function priorityRace(e: unknown): unknown {
  return isUniqueViolation(e) ? protocolErrors.operationConflict() : e;
}

export interface CreateSessionRequest {
  readonly regionId: string;
  readonly sourceIds: readonly string[];
  readonly targetId: string;
  readonly targetType: string;
  readonly filterId: string;
  readonly priority: number;
  readonly virtualNetworkId: number | undefined;
  readonly packetLength: number | undefined;
  readonly enabled: boolean | undefined;
  readonly name: string | undefined;
  readonly description: string | undefined;
  readonly resourceGroupId: string | undefined;
  readonly tags: readonly Tag[];
}

export async function createSession(
  ctx: OperationContext,
  req: CreateSessionRequest,
): Promise<{ sessionId: string; resourceGroupId: string }> {
  const tags = checkTags(req.tags);
  // What the input alone decides fails first, before any lock is taken.
  const givenGroup = givenResourceGroup(req.resourceGroupId);
  checkTarget(req.targetId, req.targetType);
  checkDistinct(req.sourceIds);
  checkNotTarget(req.sourceIds, req.targetId);
  const { sourcesPerSession, sessionsPerRegion } = ctx.services.limits;
  if (req.sourceIds.length > sourcesPerSession) throw sessionErrors.quotaSources(sourcesPerSession);
  // Locks in the order every writer takes them: the filter's row, then the session counter of the
  // region last (a Delete holds the filter and then, deleting the row, the counter through its
  // trigger; taking the counter first here would let the two wait for each other). What the
  // checks read is read in two statements, one under each lock.
  if (!ctx.dryRun) await lockCreatedFilter(ctx.tx, ctx.accountId, req.regionId, req.filterId);
  const checks = await createChecks(ctx.tx, ctx.accountId, req.regionId, req.filterId, req.priority);
  requireUsableFilter(checks?.filter);
  refuseHeldPriority(checks?.priorityHolder);
  if ((await lockSessionQuota(ctx.tx, ctx.accountId, req.regionId)) >= sessionsPerRegion)
    throw sessionErrors.quotaSessionsPerRegion(sessionsPerRegion);
  const candidateVni = req.virtualNetworkId ?? randomVni();
  const placement = await placementChecks(ctx.tx, ctx.accountId, req.regionId, req.sourceIds, candidateVni);
  requireRoomPerSource(ctx, placement.mostPerSource);
  const vni =
    req.virtualNetworkId ?? (placement.vniTaken ? await randomFreeVni(ctx, req.regionId) : candidateVni);
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();

  const resourceGroupId =
    givenGroup ?? checks?.defaultResourceGroupId ?? (await defaultResourceGroup(ctx.tx, ctx.accountId));
  const sessionId = newResourceId('TrafficMirrorSession', ctx.now);
  try {
    await insertSessionWithSources(
      ctx.tx,
      {
        id: sessionId,
        account_id: ctx.accountId,
        region_id: req.regionId,
        name: req.name ?? '',
        description: req.description ?? '',
        target_id: req.targetId,
        target_type: req.targetType,
        filter_id: req.filterId,
        virtual_network_id: vni,
        priority: req.priority,
        packet_length: req.packetLength ?? DEFAULT_PACKET_LENGTH,
        enabled: req.enabled === true ? 1 : 0,
        status: 'Creating',
        business_status: 'Normal',
        resource_group_id: resourceGroupId,
        created_at: ctx.now,
      },
      req.sourceIds,
    );
  } catch (e) {
    throw priorityRace(e);
  }
  await putTags(
    ctx.tx,
    {
      resourceType: SESSION_RESOURCE_TYPE,
      resourceId: sessionId,
      accountId: ctx.accountId,
      regionId: req.regionId,
    },
    tags,
  );
  await ctx.services.lifecycle.schedule(ctx.tx, 'session', sessionId, 'ready', 'create', ctx.now);
  return { sessionId, resourceGroupId };
}

export interface UpdateSessionRequest {
  readonly regionId: string;
  readonly sessionId: string;
  readonly name: string | undefined;
  readonly description: string | undefined;
  readonly targetId: string | undefined;
  readonly targetType: string | undefined;
  readonly filterId: string | undefined;
  readonly virtualNetworkId: number | undefined;
  readonly priority: number | undefined;
  readonly packetLength: number | undefined;
  /** Omitted means unchanged (Terraform sends it only when it changed). */
  readonly enabled: boolean | undefined;
  /**
   * Whether the caller was allowed to move the session to this filter; absent when nothing limits
   * it. RAM was asked about the filter only if it was not the session's filter then.
   */
  readonly mayMoveTo?: (filterId: string) => boolean;
}

/** The filter a session of the account uses now, for RAM (an Update that moves it elsewhere). */
export async function sessionFilterOf(
  db: OperationContext['tx'],
  accountId: string,
  regionId: string,
  sessionId: string,
): Promise<string | undefined> {
  return (await findSession(db, accountId, regionId, sessionId))?.filter_id;
}

/**
 * Omitted fields stay as they are. Terraform re-sends target, filter and priority unchanged on
 * every update, so a value equal to the current one is never checked against itself.
 */
export async function updateSession(ctx: OperationContext, req: UpdateSessionRequest): Promise<void> {
  // A target given whole is checked before the session; half of one (only the id, or only the
  // type) is checked against the session's other half, so after it.
  const wholeTarget = req.targetId !== undefined && req.targetType !== undefined;
  if (wholeTarget) checkTarget(req.targetId, req.targetType);
  const session = await requireCreated(ctx, req.regionId, req.sessionId);
  if (!wholeTarget && (req.targetId !== undefined || req.targetType !== undefined))
    checkTarget(req.targetId ?? session.target_id, req.targetType ?? session.target_type);
  const sources = (await sourcesOf(ctx.tx, [session.id])).get(session.id) ?? [];
  if (req.targetId !== undefined && req.targetId !== session.target_id && sources.includes(req.targetId))
    throw protocolErrors.invalidParameter('TrafficMirrorTargetId');
  const newFilter =
    req.filterId !== undefined && req.filterId !== session.filter_id ? req.filterId : undefined;
  // The session moved to another filter after RAM looked, so this is a move RAM did not judge.
  if (newFilter !== undefined && req.mayMoveTo && !req.mayMoveTo(newFilter))
    throw sessionErrors.incorrectStatus();
  if (newFilter !== undefined) await holdUsableFilter(ctx, req.regionId, newFilter);
  if (req.priority !== undefined && req.priority !== session.priority)
    await requireFreePriority(ctx, req.regionId, req.priority, session.id);
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();

  const fields: SessionFields = {
    ...(req.name !== undefined ? { name: req.name } : {}),
    ...(req.description !== undefined ? { description: req.description } : {}),
    ...(req.targetId !== undefined ? { target_id: req.targetId } : {}),
    ...(req.targetType !== undefined ? { target_type: req.targetType } : {}),
    ...(newFilter !== undefined ? { filter_id: newFilter } : {}),
    ...(req.virtualNetworkId !== undefined ? { virtual_network_id: req.virtualNetworkId } : {}),
    ...(req.priority !== undefined ? { priority: req.priority } : {}),
    ...(req.packetLength !== undefined ? { packet_length: req.packetLength } : {}),
    ...(req.enabled !== undefined ? { enabled: req.enabled ? 1 : 0 } : {}),
  };
  let changed: boolean;
  try {
    changed = await changeCreatedSession(ctx.tx, session.id, fields);
  } catch (e) {
    throw priorityRace(e);
  }
  if (!changed) throw sessionErrors.incorrectStatus();
  await requireUnchangedSince(ctx, session, sources, { fields });
  await ctx.services.lifecycle.schedule(ctx.tx, 'session', session.id, 'ready', 'update', ctx.now);
}

/**
 * DeleteTrafficMirrorSession (the seed): asynchronous; the session shows Deleting and then is
 * gone, with its sources and tags. Not while it is Creating, Modifying or Deleting, nor while its
 * filter or one of the filter's rules is being changed.
 */
export async function deleteSession(
  ctx: OperationContext,
  regionId: string,
  sessionId: string,
): Promise<void> {
  const session = await requireCreated(ctx, regionId, sessionId);
  // A rule change on the filter holds its row and then looks at the sessions: holding it here too
  // means the two cannot both pass on different nodes.
  const filter = await holdFilter(ctx, regionId, session.filter_id);
  if (filter?.busy) throw filterErrors.incorrectStatus();
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();
  // Of concurrent deletes (here or on another node) exactly one moves the session out of Created;
  // none does if the session left the filter held above while this call waited for it.
  if (!(await deletingIfOnFilter(ctx.tx, session.id, session.filter_id)))
    throw sessionErrors.incorrectStatus();
  await ctx.services.lifecycle.schedule(ctx.tx, 'session', session.id, 'delete', 'delete', ctx.now);
}

export async function addSessionSources(
  ctx: OperationContext,
  regionId: string,
  sessionId: string,
  sourceIds: readonly string[],
): Promise<void> {
  // What the input alone decides comes before the session (parameters, then existence and status).
  checkDistinct(sourceIds);
  const session = await requireCreated(ctx, regionId, sessionId);
  const current = (await sourcesOf(ctx.tx, [session.id])).get(session.id) ?? [];
  const present = new Set(current);
  sourceIds.forEach((id, i) => {
    if (present.has(id)) throw protocolErrors.invalidParameter(wireName(SOURCES_PARAM, sourceIds, i));
  });
  checkNotTarget(sourceIds, session.target_id);
  const limit = ctx.services.limits.sourcesPerSession;
  if (current.length + sourceIds.length > limit) throw sessionErrors.quotaSources(limit);
  if (ctx.dryRun) {
    await requireSourceCapacity(ctx, regionId, sourceIds);
    throw protocolErrors.dryRunOperation();
  }

  // The session's row first, the region's session counter last (see createSession); a failed
  // capacity check after the status change rolls both back.
  if (!(await changeCreatedSession(ctx.tx, session.id))) throw sessionErrors.incorrectStatus();
  await requireUnchangedSince(ctx, session, current, {});
  await lockSessionQuota(ctx.tx, ctx.accountId, regionId);
  await requireSourceCapacity(ctx, regionId, sourceIds);
  await addSources(ctx.tx, session.id, sourceIds);
  await ctx.services.lifecycle.schedule(ctx.tx, 'session', session.id, 'ready', 'update', ctx.now);
}

export async function removeSessionSources(
  ctx: OperationContext,
  regionId: string,
  sessionId: string,
  sourceIds: readonly string[],
): Promise<void> {
  checkDistinct(sourceIds);
  const session = await requireCreated(ctx, regionId, sessionId);
  const current = (await sourcesOf(ctx.tx, [session.id])).get(session.id) ?? [];
  const present = new Set(current);
  sourceIds.forEach((id, i) => {
    if (!present.has(id)) throw protocolErrors.invalidParameter(wireName(SOURCES_PARAM, sourceIds, i));
  });
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();

  if (!(await changeCreatedSession(ctx.tx, session.id))) throw sessionErrors.incorrectStatus();
  await requireUnchangedSince(ctx, session, current, {});
  await removeSources(ctx.tx, session.id, sourceIds);
  await ctx.services.lifecycle.schedule(ctx.tx, 'session', session.id, 'ready', 'update', ctx.now);
}

/** The List filters as the repository takes them, plus the page the caller asks for. */
export type ListSessionsRequest = SessionFilters & {
  readonly maxResults: number;
  readonly nextToken: string | undefined;
};

/** A session with its sources and tags, as List shows it. */
export type SessionView = ListedSession;

/** One page, sources and tags included; `lastSeq` is set when more sessions follow. */
export async function listSessionPage(
  ctx: OperationContext,
  req: ListSessionsRequest,
): Promise<{ items: SessionView[]; total: number; lastSeq: number | undefined }> {
  const { rows, more, total } = await listSessions(ctx.tx, req, {
    accountId: ctx.accountId,
    afterSeq: await decodeNextToken(ctx, 'sessions', req.nextToken),
    limit: req.maxResults,
  });
  const last = rows[rows.length - 1];
  return { items: rows, total, lastSeq: more && last ? last.session.seq : undefined };
}

/** OpenTrafficMirrorService: per account and region; ORDER.OPEND when it is open already. */
export async function openTrafficMirrorService(ctx: OperationContext, regionId: string): Promise<void> {
  if (!(await openService(ctx.tx, ctx.accountId, regionId))) throw serviceErrors.alreadyOpen();
}

export async function trafficMirrorServiceEnabled(ctx: OperationContext, regionId: string): Promise<boolean> {
  return serviceEnabled(ctx.tx, ctx.accountId, regionId);
}
