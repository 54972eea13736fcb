/**
 * The generic VPC tag and resource-group operations, for the two traffic mirror resource types
 * (spec sessions.md section 10). ResourceType is matched case-insensitively: Terraform sends
 * `TrafficMirrorSession` while the SDK documents `TRAFFICMIRRORSESSION`.
 */
import { defineOperation, type OperationContext } from '../../api/operation.js';
import type { PageScope } from '../../api/page-tokens.js';
import { protocolErrors } from '../../protocol/errors.js';
import type { Executor } from '../../store/database.js';
import { byCodePoint } from '../../store/dialect.js';
import {
  checkResourceGroup,
  checkTags,
  NEXT_TOKEN,
  REGION_ID,
  RESOURCE_GROUP_ID,
  TAG_LIST,
} from './common.js';
import { filterErrors, listErrors, resourceGroupErrors, sessionErrors, tagErrors } from './errors.js';
import { countTags, putTags, removeTags } from './tags.repo.js';

const RESOURCE_TYPES = {
  TRAFFICMIRRORSESSION: {
    table: 'traffic_mirror_sessions',
    arnType: 'trafficmirrorsession',
    notFound: sessionErrors.notFound,
  },
  TRAFFICMIRRORFILTER: {
    table: 'traffic_mirror_filters',
    arnType: 'trafficmirrorfilter',
    notFound: filterErrors.notFound,
  },
} as const;
type ResourceType = keyof typeof RESOURCE_TYPES;

const RESOURCE_TYPE = {
  type: 'string',
  required: true,
  enum: ['TRAFFICMIRRORSESSION', 'TRAFFICMIRRORFILTER'],
  caseInsensitive: true,
} as const;
const RESOURCE_IDS = {
  type: 'list',
  item: { type: 'string', maxLength: 64 },
  maxItems: 50,
  overflow: () => tagErrors.tooManyResources(),
} as const;

/** The ARN resource type (`trafficmirrorsession`) of the request's ResourceType. */
const RESOURCE_KIND = {
  ResourceKind: async (input: { ResourceType: string }) => typeOf(input.ResourceType).arnType,
};

function typeOf(raw: string): (typeof RESOURCE_TYPES)[ResourceType] {
  const t = RESOURCE_TYPES[raw.toUpperCase() as ResourceType];
  if (!t) throw protocolErrors.invalidParameter('ResourceType');
  return t;
}

/**
 * Checks every id names a resource of this type in the caller's account and region, and holds
 * those rows until the request ends (a no-op write): a resource whose delete completes meanwhile
 * on another node is then reported gone instead of getting tags after its tags were removed.
 */
async function requireResources(
  tx: Executor,
  type: (typeof RESOURCE_TYPES)[ResourceType],
  accountId: string,
  regionId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  // The rows stay locked until the transaction ends, so a delete on another node cannot remove a
  // resource (and its tags) between this check and the writes that follow.
  const held = await tx
    .updateTable(type.table)
    .set((eb) => ({ resource_group_id: eb.ref('resource_group_id') }))
    .where('id', 'in', ids)
    .where('account_id', '=', accountId)
    .where('region_id', '=', regionId)
    .executeTakeFirst();
  if (Number(held.numUpdatedRows) !== new Set(ids).size) throw type.notFound();
}

const MAX_TAGS_PER_RESOURCE = 20;

export const tagOperations = [
  defineOperation({
    action: 'TagResources',
    summary: 'Adds or overwrites tags on traffic mirror sessions or filters.',
    access: 'update',
    params: {
      RegionId: REGION_ID,
      ResourceType: RESOURCE_TYPE,
      ResourceId: { ...RESOURCE_IDS, required: true },
      Tag: { ...TAG_LIST, required: true },
    },
    resource: 'acs:vpc:{RegionId}:{accountId}:{ResourceKind}/{ResourceId}',
    lookups: RESOURCE_KIND,
    errors: [
      sessionErrors.notFound,
      filterErrors.notFound,
      tagErrors.invalidKey,
      tagErrors.invalidValue,
      tagErrors.tooManyInRequest,
      tagErrors.tooManyResources,
      tagErrors.duplicateKey,
      tagErrors.quota,
    ],
    response: {},
    handler: async (ctx, input) => {
      const t = typeOf(input.ResourceType);
      const tags = checkTags(input.Tag);
      await requireResources(ctx.tx, t, ctx.accountId, input.RegionId, input.ResourceId);
      // Sorted, so that two calls naming the same resources in another order take locks alike.
      for (const id of [...new Set(input.ResourceId)].sort()) {
        await putTags(
          ctx.tx,
          {
            resourceType: input.ResourceType.toUpperCase(),
            resourceId: id,
            accountId: ctx.accountId,
            regionId: input.RegionId,
          },
          tags,
        );
        if ((await countTags(ctx.tx, id)) > MAX_TAGS_PER_RESOURCE) throw tagErrors.quota();
      }
      return {};
    },
  }),
  defineOperation({
    action: 'UnTagResources',
    summary: 'Removes tags (some keys, or all) from traffic mirror sessions or filters.',
    access: 'update',
    params: {
      RegionId: REGION_ID,
      ResourceType: RESOURCE_TYPE,
      ResourceId: { ...RESOURCE_IDS, required: true },
      TagKey: {
        type: 'list',
        item: { type: 'string', maxLength: 128 },
        maxItems: 20,
        overflow: () => tagErrors.tooManyInRequest(),
      },
      All: { type: 'boolean', doc: 'Remove every tag; applies only when no TagKey.N is given.' },
    },
    resource: 'acs:vpc:{RegionId}:{accountId}:{ResourceKind}/{ResourceId}',
    lookups: RESOURCE_KIND,
    errors: [
      sessionErrors.notFound,
      filterErrors.notFound,
      tagErrors.tooManyInRequest,
      tagErrors.tooManyResources,
    ],
    response: {},
    handler: async (ctx, input) => {
      const t = typeOf(input.ResourceType);
      await requireResources(ctx.tx, t, ctx.accountId, input.RegionId, input.ResourceId);
      // All applies only without TagKey.N, as the tag platform documents it for ECS: the
      // listed keys are the narrower request, and removing less is the safer reading.
      for (const id of new Set(input.ResourceId))
        await removeTags(ctx.tx, id, input.All && input.TagKey.length === 0 ? 'all' : input.TagKey);
      return {};
    },
  }),
  defineOperation({
    action: 'ListTagResources',
    summary: 'Lists the tags of traffic mirror sessions or filters, by resource id and/or tag.',
    access: 'list',
    params: {
      RegionId: REGION_ID,
      ResourceType: RESOURCE_TYPE,
      // A search: an id of any length that names nothing simply matches nothing.
      ResourceId: { ...RESOURCE_IDS, item: { type: 'string' } },
      Tag: {
        ...TAG_LIST,
        fields: {
          Key: { type: 'string', required: true, maxLength: 128 },
          Value: { type: 'string', maxLength: 128 },
        },
      },
      MaxResults: { type: 'integer', min: 1, max: 50 },
      // A token holds a resource id and a tag key of up to 128 characters, each control character
      // of which JSON spells in 6 bytes, sealed: about 1,200 characters of base64url at most.
      NextToken: { ...NEXT_TOKEN, maxLength: 2048 },
    },
    oneOf: { params: ['ResourceId', 'Tag'], error: () => protocolErrors.missingParameter('ResourceId.1') },
    resource: 'acs:vpc:{RegionId}:{accountId}:{ResourceKind}/*',
    lookups: RESOURCE_KIND,
    errors: [tagErrors.tooManyInRequest, tagErrors.tooManyResources, listErrors.nextToken],
    response: {
      NextToken: 'string',
      TagResources: {
        wrapped: 'TagResource',
        list: {
          fields: { ResourceId: 'string', ResourceType: 'string', TagKey: 'string', TagValue: 'string' },
        },
      },
    },
    handler: async (ctx, input) => {
      const type = input.ResourceType.toUpperCase();
      const limit = input.MaxResults ?? 50;
      const after = await openTagToken(ctx, type, input.NextToken);
      let q = ctx.tx
        .selectFrom('tags')
        .select(['resource_id', 'resource_type', 'tag_key', 'tag_value'])
        .where('account_id', '=', ctx.accountId)
        .where('region_id', '=', input.RegionId)
        .where('resource_type', '=', type);
      if (input.ResourceId.length > 0) q = q.where('resource_id', 'in', input.ResourceId);
      if (input.Tag.length > 0) {
        const wanted = input.Tag;
        // The rows listed are the tags asked for, of the resources that carry every one of them.
        q = q.where((eb) =>
          eb.or(
            wanted.map((t) =>
              t.Value === undefined
                ? eb('tag_key', '=', t.Key)
                : eb.and([eb('tag_key', '=', t.Key), eb('tag_value', '=', t.Value)]),
            ),
          ),
        );
        for (const t of wanted) {
          q = q.where((eb) =>
            eb.exists(
              eb
                .selectFrom('tags as other')
                .select('other.tag_key')
                .whereRef('other.resource_id', '=', 'tags.resource_id')
                .whereRef('other.resource_type', '=', 'tags.resource_type')
                .where('other.tag_key', '=', t.Key)
                .$if(t.Value !== undefined, (sq) => sq.where('other.tag_value', '=', t.Value ?? '')),
            ),
          );
        }
      }
      if (after) {
        q = q.where((eb) =>
          eb.or([
            eb(byCodePoint(ctx.tx, 'resource_id'), '>', after.id),
            eb.and([eb('resource_id', '=', after.id), eb(byCodePoint(ctx.tx, 'tag_key'), '>', after.key)]),
          ]),
        );
      }
      const rows = await q
        .orderBy(byCodePoint(ctx.tx, 'resource_id'))
        .orderBy(byCodePoint(ctx.tx, 'tag_key'))
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        NextToken: rows.length > limit && last ? await sealTagToken(ctx, type, last) : '',
        TagResources: {
          TagResource: page.map((r) => ({
            ResourceId: r.resource_id,
            ResourceType: r.resource_type,
            TagKey: r.tag_key,
            TagValue: r.tag_value,
          })),
        },
      };
    },
  }),
  defineOperation({
    action: 'MoveResourceGroup',
    summary: 'Moves a traffic mirror session or filter to another resource group.',
    access: 'update',
    params: {
      RegionId: REGION_ID,
      // The operation's own error table has a code for this, unlike the tag operations'.
      ResourceType: { ...RESOURCE_TYPE, invalid: () => resourceGroupErrors.resourceType() },
      ResourceId: { type: 'string', required: true, maxLength: 64 },
      NewResourceGroupId: {
        ...RESOURCE_GROUP_ID,
        required: true,
        doc: '`rg-` and 5-40 lower-case letters or digits (checked with the resource).',
      },
    },
    resource: 'acs:vpc:{RegionId}:{accountId}:{ResourceKind}/{ResourceId}',
    lookups: RESOURCE_KIND,
    errors: [
      resourceGroupErrors.resourceType,
      resourceGroupErrors.invalid,
      resourceGroupErrors.resourceNotFound,
    ],
    response: {},
    handler: async (ctx, input) => {
      const t = typeOf(input.ResourceType);
      const group = checkResourceGroup(input.NewResourceGroupId, '');
      const r = await ctx.tx
        .updateTable(t.table)
        .set({ resource_group_id: group })
        .where('id', '=', input.ResourceId)
        .where('account_id', '=', ctx.accountId)
        .where('region_id', '=', input.RegionId)
        .executeTakeFirst();
      if (r.numUpdatedRows === 0n) throw resourceGroupErrors.resourceNotFound();
      return {};
    },
  }),
];

/**
 * Text a token may carry into a query: no longer than the column's values, and text the stores
 * can hold. Only tokens this server sealed open, and those hold stored values; but JSON can spell
 * what no request parameter may carry (a NUL, which PostgreSQL refuses, or half a surrogate pair),
 * and a deployment key that leaked would let anyone seal it, so the door's checks are made again.
 */
function storable(s: string, maxLength: number): boolean {
  return s.length <= maxLength && !s.includes('\u0000') && Buffer.from(s, 'utf8').toString('utf8') === s;
}

/** The tag lists of one account and resource type page through their own tokens. */
function tagScope(ctx: OperationContext, type: string): PageScope {
  return { accountId: ctx.accountId, list: `tags:${type}` };
}

/** A NextToken holding the last tag of a page (sealed, api/page-tokens.ts): the next goes on after it. */
function sealTagToken(
  ctx: OperationContext,
  type: string,
  last: { readonly resource_id: string; readonly tag_key: string },
): Promise<string> {
  const position = Buffer.from(JSON.stringify([last.resource_id, last.tag_key]));
  return ctx.services.pageTokens.sealBytes(ctx.tx, tagScope(ctx, type), position);
}

/** The resource id and key a tag list's NextToken holds; undefined without a token. */
async function openTagToken(
  ctx: OperationContext,
  type: string,
  token: string | undefined,
): Promise<{ id: string; key: string } | undefined> {
  if (token === undefined) return undefined;
  const position = await ctx.services.pageTokens.openBytes(ctx.tx, tagScope(ctx, type), token);
  try {
    const v: unknown = position === undefined ? undefined : JSON.parse(position.toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      storable(v[0], 64) &&
      storable(v[1], 128)
    ) {
      return { id: v[0], key: v[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw listErrors.nextToken();
}
