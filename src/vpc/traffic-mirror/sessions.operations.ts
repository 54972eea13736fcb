/**
 * The traffic mirror session operations (spec sessions.md sections 3-7; DeleteTrafficMirrorSession
 * as the seed documents it). Handlers only map wire input to a service call and the result to the
 * wire shape; every rule lives in sessions.service.ts.
 */
import { arn, defineOperation } from '../../api/operation.js';
import type { ParamSpec } from '../../api/schema.js';
import { protocolErrors } from '../../protocol/errors.js';
import {
  DESCRIPTION,
  encodeNextToken,
  formatCreationTime,
  MAX_RESULTS,
  NAME,
  NEXT_TOKEN,
  REGION_ID,
  RESOURCE_GROUP_FILTER,
  RESOURCE_GROUP_ID,
  SESSION_RESPONSE,
  TAG_FILTER,
  TAG_LIST,
} from './common.js';
import { filterErrors, listErrors, resourceGroupErrors, sessionErrors, tagErrors } from './errors.js';
import {
  addSessionSources,
  createSession,
  deleteSession,
  listSessionPage,
  removeSessionSources,
  type SessionView,
  sessionFilterOf,
  TARGET_TYPES,
  updateSession,
} from './sessions.service.js';

const SESSION_ARN = 'acs:vpc:{RegionId}:{accountId}:trafficmirrorsession/{TrafficMirrorSessionId}';

const SESSION_ID = {
  type: 'string',
  required: true,
  maxLength: 64,
  doc: 'tms-…',
} as const satisfies ParamSpec;

/** Source ENIs. The per-session limit is a runtime setting, so the list itself is only capped loosely. */
const SOURCE_IDS = {
  type: 'list',
  required: true,
  maxItems: 100,
  item: { type: 'string', pattern: /^eni-[A-Za-z0-9]{1,64}$/ },
  doc: 'ENI ids (eni-…); at most 10 per session by default.',
} as const satisfies ParamSpec;

const TARGET_ID = {
  type: 'string',
  maxLength: 128,
  doc: '`eni-` (NetworkInterface) or `lb-` (SLB) and 1-64 letters or digits, checked with the target type.',
} as const satisfies ParamSpec;
const TARGET_TYPE = {
  type: 'string',
  enum: TARGET_TYPES,
  doc: 'NetworkInterface or SLB (exact case).',
} as const satisfies ParamSpec;
const FILTER_ID = {
  type: 'string',
  maxLength: 64,
  doc: 'tmf-… of the same account and region.',
} as const satisfies ParamSpec;
const PRIORITY = {
  type: 'integer',
  min: 1,
  max: 32766,
  doc: '1-32766, unique per account and region; smaller is higher.',
} as const satisfies ParamSpec;
const VNI = {
  type: 'integer',
  min: 0,
  max: 16_777_215,
  doc: 'VXLAN network id 0-16777215; a random unused one when omitted.',
} as const satisfies ParamSpec;
const VNI_UPDATE = {
  ...VNI,
  doc: 'VXLAN network id 0-16777215; unchanged when omitted.',
} as const satisfies ParamSpec;
const VNI_FILTER = { ...VNI, doc: 'Only sessions with this VXLAN network id.' } as const satisfies ParamSpec;
const PACKET_LENGTH = {
  type: 'integer',
  min: 64,
  max: 8500,
  doc: 'Bytes of each mirrored packet, 64-8500 (default 1500).',
} as const satisfies ParamSpec;

function toWire(v: SessionView): Record<string, unknown> {
  const s = v.session;
  return {
    CreationTime: formatCreationTime(s.created_at),
    Enabled: s.enabled === 1,
    PacketLength: s.packet_length,
    Priority: s.priority,
    ResourceGroupId: s.resource_group_id,
    Tags: v.tags.map((t) => ({ Key: t.key, Value: t.value })),
    TrafficMirrorFilterId: s.filter_id,
    TrafficMirrorSessionBusinessStatus: s.business_status,
    TrafficMirrorSessionDescription: s.description,
    TrafficMirrorSessionId: s.id,
    TrafficMirrorSessionName: s.name,
    TrafficMirrorSessionStatus: s.status,
    TrafficMirrorSourceIds: [...v.sourceIds],
    TrafficMirrorTargetId: s.target_id,
    TrafficMirrorTargetType: s.target_type,
    VirtualNetworkId: s.virtual_network_id,
  };
}

export const sessionOperations = [
  defineOperation({
    action: 'CreateTrafficMirrorSession',
    summary: 'Creates a traffic mirror session (asynchronous: Creating, then Created).',
    access: 'create',
    clientToken: true,
    dryRun: true,
    async: 'Creating → Created',
    params: {
      RegionId: REGION_ID,
      TrafficMirrorSourceIds: SOURCE_IDS,
      TrafficMirrorTargetId: { ...TARGET_ID, required: true },
      TrafficMirrorTargetType: { ...TARGET_TYPE, required: true },
      TrafficMirrorFilterId: { ...FILTER_ID, required: true },
      Priority: { ...PRIORITY, required: true },
      VirtualNetworkId: VNI,
      PacketLength: PACKET_LENGTH,
      Enabled: { type: 'boolean', doc: 'Mirror at once; default false.' },
      TrafficMirrorSessionName: NAME,
      TrafficMirrorSessionDescription: DESCRIPTION,
      ResourceGroupId: RESOURCE_GROUP_ID,
      Tag: TAG_LIST,
      TrafficMirrorSourceTruncateMode: { type: 'integer', doc: 'Historical; accepted and ignored.' },
    },
    resources: (input, scope) => [
      arn(input.RegionId, scope.accountId, 'trafficmirrorsession/*'),
      arn(input.RegionId, scope.accountId, `trafficmirrorfilter/${input.TrafficMirrorFilterId}`),
    ],
    resourceDoc:
      'acs:vpc:{RegionId}:{accountId}:trafficmirrorsession/* and acs:vpc:{RegionId}:{accountId}:trafficmirrorfilter/{TrafficMirrorFilterId}',
    errors: [
      filterErrors.notFound,
      filterErrors.incorrectStatus,
      sessionErrors.quotaSources,
      sessionErrors.quotaSessionsPerSource,
      protocolErrors.operationConflict,
      resourceGroupErrors.invalid,
      tagErrors.invalidKey,
      tagErrors.invalidValue,
      tagErrors.duplicateKey,
      tagErrors.tooManyInRequest,
    ],
    response: { TrafficMirrorSessionId: 'string', ResourceGroupId: 'string' },
    handler: async (ctx, input) => {
      const r = await createSession(ctx, {
        regionId: input.RegionId,
        sourceIds: input.TrafficMirrorSourceIds,
        targetId: input.TrafficMirrorTargetId,
        targetType: input.TrafficMirrorTargetType,
        filterId: input.TrafficMirrorFilterId,
        priority: input.Priority,
        virtualNetworkId: input.VirtualNetworkId,
        packetLength: input.PacketLength,
        enabled: input.Enabled,
        name: input.TrafficMirrorSessionName,
        description: input.TrafficMirrorSessionDescription,
        resourceGroupId: input.ResourceGroupId,
        tags: input.Tag,
      });
      return { TrafficMirrorSessionId: r.sessionId, ResourceGroupId: r.resourceGroupId };
    },
  }),
  defineOperation({
    action: 'DeleteTrafficMirrorSession',
    summary: 'Deletes a traffic mirror session (asynchronous: Deleting, then gone).',
    access: 'delete',
    clientToken: true,
    dryRun: true,
    async: 'Deleting → (gone)',
    params: { RegionId: REGION_ID, TrafficMirrorSessionId: SESSION_ID },
    resource: SESSION_ARN,
    errors: [sessionErrors.notFound, sessionErrors.incorrectStatus, filterErrors.incorrectStatus],
    response: {},
    handler: async (ctx, input) => {
      await deleteSession(ctx, input.RegionId, input.TrafficMirrorSessionId);
      return {};
    },
  }),
  defineOperation({
    action: 'UpdateTrafficMirrorSessionAttribute',
    summary: 'Changes a traffic mirror session; omitted fields stay (asynchronous: Modifying, then Created).',
    access: 'update',
    clientToken: true,
    dryRun: true,
    async: 'Modifying → Created',
    params: {
      RegionId: REGION_ID,
      TrafficMirrorSessionId: SESSION_ID,
      TrafficMirrorSessionName: NAME,
      TrafficMirrorSessionDescription: DESCRIPTION,
      TrafficMirrorTargetId: TARGET_ID,
      TrafficMirrorTargetType: TARGET_TYPE,
      TrafficMirrorFilterId: FILTER_ID,
      VirtualNetworkId: VNI_UPDATE,
      Priority: PRIORITY,
      PacketLength: PACKET_LENGTH,
      Enabled: { type: 'boolean', doc: 'true starts mirroring, false stops it; omitted leaves it.' },
      TrafficMirrorSourceTruncateMode: { type: 'integer', doc: 'Historical; accepted and ignored.' },
    },
    // Moving the session to another filter also needs the right on that filter, as creating a
    // session on it does. Terraform re-sends the current filter on every update: that one is not
    // asked about again.
    resources: async (input, scope) => {
      const session = arn(
        input.RegionId,
        scope.accountId,
        `trafficmirrorsession/${input.TrafficMirrorSessionId}`,
      );
      const filterId = input.TrafficMirrorFilterId;
      if (filterId === undefined) return [session];
      const current = await sessionFilterOf(
        scope.db,
        scope.accountId,
        input.RegionId,
        input.TrafficMirrorSessionId,
      );
      return current === undefined || current === filterId
        ? [session]
        : [session, arn(input.RegionId, scope.accountId, `trafficmirrorfilter/${filterId}`)];
    },
    resourceDoc: `${SESSION_ARN}, and acs:vpc:{RegionId}:{accountId}:trafficmirrorfilter/{TrafficMirrorFilterId} when that is not the session's current filter`,
    errors: [
      sessionErrors.notFound,
      sessionErrors.incorrectStatus,
      filterErrors.notFound,
      filterErrors.incorrectStatus,
      protocolErrors.operationConflict,
    ],
    response: {},
    handler: async (ctx, input) => {
      const { authorized } = ctx;
      await updateSession(ctx, {
        regionId: input.RegionId,
        sessionId: input.TrafficMirrorSessionId,
        name: input.TrafficMirrorSessionName,
        description: input.TrafficMirrorSessionDescription,
        targetId: input.TrafficMirrorTargetId,
        targetType: input.TrafficMirrorTargetType,
        filterId: input.TrafficMirrorFilterId,
        virtualNetworkId: input.VirtualNetworkId,
        priority: input.Priority,
        packetLength: input.PacketLength,
        enabled: input.Enabled,
        ...(authorized
          ? {
              mayMoveTo: (filterId: string) =>
                authorized.includes(arn(input.RegionId, ctx.accountId, `trafficmirrorfilter/${filterId}`)),
            }
          : {}),
      });
      return {};
    },
  }),
  defineOperation({
    action: 'AddSourcesToTrafficMirrorSession',
    summary: 'Adds source ENIs to a traffic mirror session (asynchronous: Modifying, then Created).',
    access: 'update',
    clientToken: true,
    dryRun: true,
    async: 'Modifying → Created',
    params: { RegionId: REGION_ID, TrafficMirrorSessionId: SESSION_ID, TrafficMirrorSourceIds: SOURCE_IDS },
    resource: SESSION_ARN,
    errors: [
      sessionErrors.notFound,
      sessionErrors.incorrectStatus,
      sessionErrors.quotaSources,
      sessionErrors.quotaSessionsPerSource,
    ],
    response: {},
    handler: async (ctx, input) => {
      await addSessionSources(
        ctx,
        input.RegionId,
        input.TrafficMirrorSessionId,
        input.TrafficMirrorSourceIds,
      );
      return {};
    },
  }),
  defineOperation({
    action: 'RemoveSourcesFromTrafficMirrorSession',
    summary: 'Removes source ENIs from a traffic mirror session (asynchronous: Modifying, then Created).',
    access: 'update',
    clientToken: true,
    dryRun: true,
    async: 'Modifying → Created',
    params: { RegionId: REGION_ID, TrafficMirrorSessionId: SESSION_ID, TrafficMirrorSourceIds: SOURCE_IDS },
    resource: SESSION_ARN,
    errors: [sessionErrors.notFound, sessionErrors.incorrectStatus],
    response: {},
    handler: async (ctx, input) => {
      await removeSessionSources(
        ctx,
        input.RegionId,
        input.TrafficMirrorSessionId,
        input.TrafficMirrorSourceIds,
      );
      return {};
    },
  }),
  defineOperation({
    action: 'ListTrafficMirrorSessions',
    summary: 'Lists traffic mirror sessions in creation order, with filters and token pagination.',
    access: 'list',
    params: {
      RegionId: REGION_ID,
      TrafficMirrorSessionIds: {
        type: 'list',
        maxItems: 100,
        // No length limit: an id of any length that names no session is simply absent.
        item: { type: 'string' },
        doc: 'Up to 100 ids; unknown ids are simply absent.',
      },
      TrafficMirrorSessionName: { type: 'string', maxLength: 128, doc: 'Exact name.' },
      TrafficMirrorSourceId: { type: 'string', maxLength: 128, doc: 'Sessions mirroring this ENI.' },
      TrafficMirrorTargetId: { type: 'string', maxLength: 128 },
      TrafficMirrorFilterId: { type: 'string' },
      VirtualNetworkId: VNI_FILTER,
      Priority: PRIORITY,
      Enabled: { type: 'boolean', doc: 'Omitted: both.' },
      ResourceGroupId: RESOURCE_GROUP_FILTER,
      Tags: TAG_FILTER,
      MaxResults: MAX_RESULTS,
      NextToken: NEXT_TOKEN,
    },
    resource: 'acs:vpc:{RegionId}:{accountId}:trafficmirrorsession/*',
    errors: [listErrors.nextToken, tagErrors.tooManyInRequest],
    response: {
      NextToken: 'string',
      TotalCount: 'string',
      TrafficMirrorSessions: { list: { fields: SESSION_RESPONSE } },
    },
    handler: async (ctx, input) => {
      const page = await listSessionPage(ctx, {
        regionId: input.RegionId,
        ids: input.TrafficMirrorSessionIds,
        name: input.TrafficMirrorSessionName,
        sourceId: input.TrafficMirrorSourceId,
        targetId: input.TrafficMirrorTargetId,
        filterId: input.TrafficMirrorFilterId,
        virtualNetworkId: input.VirtualNetworkId,
        priority: input.Priority,
        enabled: input.Enabled,
        resourceGroupId: input.ResourceGroupId,
        tags: input.Tags,
        maxResults: input.MaxResults ?? 10,
        nextToken: input.NextToken,
      });
      return {
        NextToken: page.lastSeq === undefined ? '' : await encodeNextToken(ctx, 'sessions', page.lastSeq),
        TotalCount: String(page.total),
        TrafficMirrorSessions: page.items.map(toWire),
      };
    },
  }),
];
