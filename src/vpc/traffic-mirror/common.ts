/**
 * Pieces every traffic mirror operation shares: parameter declarations, the CreationTime format,
 * keyset pagination tokens, tag and resource-group checks.
 */

import type { OperationContext } from '../../api/operation.js';
import type { ResponseShape, ResponseSpec } from '../../api/response.js';
import type { ParamSpec } from '../../api/schema.js';
import { prepared } from '../../store/prepared.js';
import { listErrors, resourceGroupErrors, tagErrors } from './errors.js';

export const REGION_ID = {
  type: 'string',
  required: true,
  region: true,
  doc: 'Region of the resource.',
} as const satisfies ParamSpec;

/** Names: 1-128 characters, not starting with http:// or https:// (SDK 7.3.2 doc comments). */
export const NAME = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  noUrlPrefix: true,
} as const satisfies ParamSpec;
/** Descriptions: 1-256 characters, same prefix ban. */
export const DESCRIPTION = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  noUrlPrefix: true,
} as const satisfies ParamSpec;

export const RESOURCE_GROUP_ID = {
  type: 'string',
  maxLength: 64,
  // Too long to be an rg-… id is the same mistake as any other id that is not one.
  invalid: () => resourceGroupErrors.invalid(),
  doc: '`rg-` and 5-40 lower-case letters or digits (checked with the resource); the account default when omitted.',
} as const satisfies ParamSpec;

/** The same parameter as a List filter, where an id that is no resource group's matches nothing. */
export const RESOURCE_GROUP_FILTER = {
  type: 'string',
  maxLength: 64,
  doc: 'rg-…; only resources in this resource group.',
} as const satisfies ParamSpec;

/** `Tag.N.Key` / `Tag.N.Value` on Create*; validity of keys and values is checked by checkTags. */
export const TAG_LIST = {
  type: 'objectList',
  maxItems: 20,
  overflow: () => tagErrors.tooManyInRequest(),
  fields: {
    // The length is checked here too, before RAM conditions match the request's tags.
    Key: {
      type: 'string',
      required: true,
      maxLength: 128,
      invalid: () => tagErrors.invalidKey(),
      doc: 'Not starting with `aliyun` or `acs:`, no `http://` or `https://` (else InvalidTagKey); an empty key counts as absent.',
    },
    Value: {
      type: 'string',
      allowEmpty: true,
      maxLength: 128,
      invalid: () => tagErrors.invalidValue(),
      doc: 'The same rules as the key (else InvalidTagValue); may be empty.',
    },
  },
} as const satisfies ParamSpec;

/** `Tags.N.Key` / `Tags.N.Value` on List*: resources carrying every given tag. */
export const TAG_FILTER = {
  type: 'objectList',
  maxItems: 20,
  overflow: () => tagErrors.tooManyInRequest(),
  fields: {
    Key: { type: 'string', required: true, maxLength: 128 },
    Value: { type: 'string', maxLength: 128 },
  },
  doc: 'Resources carrying every given tag (a key without value matches any value).',
} as const satisfies ParamSpec;

export const MAX_RESULTS = {
  type: 'integer',
  min: 1,
  max: 100,
  doc: '1-100, default 10.',
} as const satisfies ParamSpec;
export const NEXT_TOKEN = {
  type: 'string',
  maxLength: 256,
  // A token longer than any page hands out is a token no page handed out.
  invalid: () => listErrors.nextToken(),
  doc: 'From the previous page.',
} as const satisfies ParamSpec;

const BANNED_PREFIX = /^(aliyun|acs:)/i;
const URL_INSIDE = /https?:\/\//i;

export interface Tag {
  readonly Key: string;
  readonly Value?: string;
}

/** Checks tag keys and values (spec sessions.md section 3) and that no key repeats. */
export function checkTags(tags: readonly Tag[]): Array<{ key: string; value: string }> {
  const seen = new Set<string>();
  const out: Array<{ key: string; value: string }> = [];
  for (const t of tags) {
    if (t.Key.length === 0 || t.Key.length > 128 || BANNED_PREFIX.test(t.Key) || URL_INSIDE.test(t.Key)) {
      throw tagErrors.invalidKey();
    }
    const value = t.Value ?? '';
    if (value.length > 128 || BANNED_PREFIX.test(value) || URL_INSIDE.test(value))
      throw tagErrors.invalidValue();
    if (seen.has(t.Key)) throw tagErrors.duplicateKey();
    seen.add(t.Key);
    out.push({ key: t.Key, value });
  }
  return out;
}

const RESOURCE_GROUP = /^rg-[a-z0-9]{5,40}$/;

/**
 * Resource groups are not modelled beyond their ids: any well-formed `rg-…` id is accepted, and
 * an omitted one means the account's default group (docs/fidelity.md).
 */
export function checkResourceGroup(id: string | undefined, accountDefault: string): string {
  return givenResourceGroup(id) ?? accountDefault;
}

/** The given id, checked; undefined when none was given (the account's default applies then). */
export function givenResourceGroup(id: string | undefined): string | undefined {
  if (id !== undefined && !RESOURCE_GROUP.test(id)) throw resourceGroupErrors.invalid();
  return id;
}

/** `2023-09-05T15:26Z`: UTC to the minute, as the API's examples show. */
export function formatCreationTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).concat('Z');
}

/**
 * NextToken holds the creation sequence number of the last item of the page: the next page starts
 * after it, so creating or deleting resources between pages neither repeats nor skips one. The
 * number is sealed for the caller's account and the list (api/page-tokens.ts).
 */
export function encodeNextToken(ctx: OperationContext, list: PagedList, lastSeq: number): Promise<string> {
  return ctx.services.pageTokens.seal(ctx.tx, { accountId: ctx.accountId, list }, lastSeq);
}

export async function decodeNextToken(
  ctx: OperationContext,
  list: PagedList,
  token: string | undefined,
): Promise<number | undefined> {
  if (token === undefined) return undefined;
  const seq = await ctx.services.pageTokens.open(ctx.tx, { accountId: ctx.accountId, list }, token);
  if (seq === undefined) throw listErrors.nextToken();
  return seq;
}

export type PagedList = 'sessions' | 'filters';

/** The account's default resource group. */
const accountGroup = prepared((db, p: { accountId: string }) =>
  db.selectFrom('accounts').select('default_resource_group_id').where('id', '=', p.accountId),
);

export async function defaultResourceGroup(
  tx: import('../../store/database.js').Executor,
  accountId: string,
): Promise<string> {
  const row = await accountGroup.first(tx, { accountId });
  return row?.default_resource_group_id ?? 'rg-default';
}

/**
 * Serializes the filter quota checks of one account: the account row stays locked until the
 * transaction ends, so two creates on different nodes cannot both take the last free slot (on
 * SQLite the single writer already does this). Sessions lock per region instead (lockSessionQuota).
 */
const accountLock = prepared((db, p: { accountId: string }) =>
  db
    .updateTable('accounts')
    .set((eb) => ({ name: eb.ref('name') }))
    .where('id', '=', p.accountId),
);

export async function lockAccountQuotas(
  tx: import('../../store/database.js').Executor,
  accountId: string,
): Promise<void> {
  await accountLock.run(tx, { accountId });
}

/** Tags as List answers carry them. */
export const TAGS_RESPONSE = {
  list: { fields: { Key: 'string', Value: 'string' } },
} as const satisfies ResponseSpec;

/** One session of a ListTrafficMirrorSessions answer. */
export const SESSION_RESPONSE = {
  CreationTime: 'string',
  Enabled: 'boolean',
  PacketLength: 'integer',
  Priority: 'integer',
  ResourceGroupId: 'string',
  Tags: TAGS_RESPONSE,
  TrafficMirrorFilterId: 'string',
  TrafficMirrorSessionBusinessStatus: 'string',
  TrafficMirrorSessionDescription: 'string',
  TrafficMirrorSessionId: 'string',
  TrafficMirrorSessionName: 'string',
  TrafficMirrorSessionStatus: 'string',
  TrafficMirrorSourceIds: { list: 'string' },
  TrafficMirrorTargetId: 'string',
  TrafficMirrorTargetType: 'string',
  VirtualNetworkId: 'integer',
} as const satisfies ResponseShape;

/** One rule of a filter in a ListTrafficMirrorFilters answer. */
const RULE_RESPONSE = {
  TrafficMirrorFilterRuleId: 'string',
  TrafficMirrorFilterId: 'string',
  TrafficDirection: 'string',
  Action: 'string',
  Protocol: 'string',
  Priority: 'integer',
  SourceCidrBlock: 'string',
  DestinationCidrBlock: 'string',
  SourcePortRange: 'string',
  DestinationPortRange: 'string',
  IpVersion: 'string',
  TrafficMirrorFilterRuleStatus: 'string',
} as const satisfies ResponseShape;

/** One filter of a ListTrafficMirrorFilters answer. */
export const FILTER_RESPONSE = {
  TrafficMirrorFilterId: 'string',
  TrafficMirrorFilterName: 'string',
  TrafficMirrorFilterDescription: 'string',
  TrafficMirrorFilterStatus: 'string',
  ResourceGroupId: 'string',
  CreationTime: 'string',
  Tags: TAGS_RESPONSE,
  IngressRules: { list: { fields: RULE_RESPONSE } },
  EgressRules: { list: { fields: RULE_RESPONSE } },
} as const satisfies ResponseShape;
