/**
 * Traffic mirror filters: create (with inline rules and tags), rename, delete and list (spec
 * filters.md sections 3, 7, 10, 11). Create and delete are asynchronous through the lifecycle
 * engine; the appliers at the bottom complete them.
 */
import type { OperationContext } from '../../api/operation.js';
import { newResourceId } from '../../ids.js';
import type { Appliers } from '../../lifecycle/lifecycle.js';
import { protocolErrors } from '../../protocol/errors.js';
import {
  checkResourceGroup,
  checkTags,
  decodeNextToken,
  defaultResourceGroup,
  encodeNextToken,
  formatCreationTime,
  lockAccountQuotas,
  type Tag,
} from './common.js';
import { filterErrors, ruleErrors } from './errors.js';
import { buildRuleRows, checkRules, type RuleInput } from './filter-rules.service.js';
import {
  countFilters,
  deleteFilterCascade,
  findFilter,
  insertFilter,
  insertRules,
  listFilters as listFilterRows,
  type RuleRow,
  rulesOf,
  rulesReady,
  sessionsUsingFilter,
  setFilterStatus,
  setRulesStatusFromCreated,
  updateFilterAttributes,
} from './filters.repo.js';
import { putTags, type TagFilter, tagsOf } from './tags.repo.js';

export const FILTER_RESOURCE_TYPE = 'TRAFFICMIRRORFILTER';

export interface CreateFilterInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterName?: string;
  readonly TrafficMirrorFilterDescription?: string;
  readonly ResourceGroupId?: string;
  readonly Tag: readonly Tag[];
  readonly IngressRules: readonly RuleInput[];
  readonly EgressRules: readonly RuleInput[];
}

export async function createFilter(
  ctx: OperationContext,
  input: CreateFilterInput,
): Promise<{ TrafficMirrorFilterId: string; ResourceGroupId: string }> {
  const tags = checkTags(input.Tag);
  const rules = [
    ...checkRules('IngressRules', input.IngressRules),
    ...checkRules('EgressRules', input.EgressRules),
  ];
  const resourceGroupId = checkResourceGroup(
    input.ResourceGroupId,
    await defaultResourceGroup(ctx.tx, ctx.accountId),
  );
  const id = newResourceId('TrafficMirrorFilter', ctx.now);
  const ruleRows = buildRuleRows(id, rules, [], ctx.now);
  const limit = ctx.services.limits.filtersPerRegion;
  await lockAccountQuotas(ctx.tx, ctx.accountId);
  if ((await countFilters(ctx.tx, ctx.accountId, input.RegionId)) >= limit) throw filterErrors.quota(limit);
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();

  await insertFilter(ctx.tx, {
    id,
    account_id: ctx.accountId,
    region_id: input.RegionId,
    name: input.TrafficMirrorFilterName ?? '',
    description: input.TrafficMirrorFilterDescription ?? '',
    resource_group_id: resourceGroupId,
    status: 'Creating',
    created_at: ctx.now,
  });
  await insertRules(ctx.tx, ruleRows);
  await putTags(
    ctx.tx,
    {
      resourceType: FILTER_RESOURCE_TYPE,
      resourceId: id,
      accountId: ctx.accountId,
      regionId: input.RegionId,
    },
    tags,
  );
  // Inline rules ride on the filter's own transition: they are Created when the filter is.
  await ctx.services.lifecycle.schedule(ctx.tx, 'filter', id, 'ready', 'create', ctx.now);
  return { TrafficMirrorFilterId: id, ResourceGroupId: resourceGroupId };
}

export interface UpdateFilterInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterId: string;
  readonly TrafficMirrorFilterName?: string;
  readonly TrafficMirrorFilterDescription?: string;
}

/** Synchronous: name and description change at once; absent or empty means unchanged. */
export async function updateFilter(ctx: OperationContext, input: UpdateFilterInput): Promise<void> {
  const filter = await findFilter(ctx.tx, ctx.accountId, input.RegionId, input.TrafficMirrorFilterId);
  if (!filter) throw filterErrors.notFound();
  if (filter.status !== 'Created') throw filterErrors.incorrectStatus();
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();
  const patch = {
    ...(input.TrafficMirrorFilterName !== undefined ? { name: input.TrafficMirrorFilterName } : {}),
    ...(input.TrafficMirrorFilterDescription !== undefined
      ? { description: input.TrafficMirrorFilterDescription }
      : {}),
  };
  if (!(await updateFilterAttributes(ctx.tx, filter.id, patch))) throw filterErrors.incorrectStatus();
}

export interface DeleteFilterInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterId: string;
}

export async function deleteFilter(ctx: OperationContext, input: DeleteFilterInput): Promise<void> {
  const filter = await findFilter(ctx.tx, ctx.accountId, input.RegionId, input.TrafficMirrorFilterId);
  if (!filter) throw filterErrors.notFound();
  // The conditional update comes first: of two concurrent deletes only one moves the filter, and
  // a rule change that holds the filter is waited for before the rules are looked at.
  if (!(await setFilterStatus(ctx.tx, filter.id, ['Created'], 'Deleting')))
    throw filterErrors.incorrectStatus();
  const rules = (await rulesOf(ctx.tx, [filter.id])).get(filter.id) ?? [];
  if (rules.some((r) => r.status !== 'Created')) throw ruleErrors.incorrectStatus();
  // A filter some session still uses cannot go (spec filters.md A13).
  if ((await sessionsUsingFilter(ctx.tx, filter.id)).length > 0) throw filterErrors.incorrectStatus();
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();
  await setRulesStatusFromCreated(ctx.tx, filter.id, 'all', 'Deleting');
  await ctx.services.lifecycle.schedule(ctx.tx, 'filter', filter.id, 'delete', 'delete', ctx.now);
}

export interface ListFiltersInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterIds: readonly string[];
  readonly TrafficMirrorFilterName?: string;
  readonly ResourceGroupId?: string;
  readonly Tags: readonly TagFilter[];
  readonly MaxResults?: number;
  readonly NextToken?: string;
}

function ruleView(r: RuleRow): Record<string, unknown> {
  return {
    TrafficMirrorFilterRuleId: r.id,
    TrafficMirrorFilterId: r.filter_id,
    TrafficDirection: r.direction,
    Action: r.rule_action,
    Protocol: r.protocol,
    Priority: r.priority,
    SourceCidrBlock: r.source_cidr_block,
    DestinationCidrBlock: r.destination_cidr_block,
    SourcePortRange: r.source_port_range,
    DestinationPortRange: r.destination_port_range,
    IpVersion: r.ip_version,
    TrafficMirrorFilterRuleStatus: r.status,
  };
}

export async function listFilters(
  ctx: OperationContext,
  input: ListFiltersInput,
): Promise<Record<string, unknown>> {
  const limit = input.MaxResults ?? 10;
  const afterSeq = await decodeNextToken(ctx, 'filters', input.NextToken);
  const { rows, total } = await listFilterRows(ctx.tx, {
    accountId: ctx.accountId,
    regionId: input.RegionId,
    ids: input.TrafficMirrorFilterIds,
    name: input.TrafficMirrorFilterName,
    resourceGroupId: input.ResourceGroupId,
    tags: input.Tags,
    afterSeq,
    limit,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const ids = page.map((f) => f.id);
  const [rules, tags] = await Promise.all([rulesOf(ctx.tx, ids), tagsOf(ctx.tx, ids)]);
  return {
    TotalCount: String(total),
    Count: page.length,
    MaxResults: limit,
    NextToken: rows.length > limit && last ? await encodeNextToken(ctx, 'filters', last.seq) : '',
    TrafficMirrorFilters: page.map((f) => {
      const mine = rules.get(f.id) ?? [];
      return {
        TrafficMirrorFilterId: f.id,
        TrafficMirrorFilterName: f.name,
        TrafficMirrorFilterDescription: f.description,
        TrafficMirrorFilterStatus: f.status,
        ResourceGroupId: f.resource_group_id,
        CreationTime: formatCreationTime(f.created_at),
        Tags: (tags.get(f.id) ?? []).map((t) => ({ Key: t.key, Value: t.value })),
        IngressRules: mine.filter((r) => r.direction === 'ingress').map(ruleView),
        EgressRules: mine.filter((r) => r.direction === 'egress').map(ruleView),
      };
    }),
  };
}

/** What the lifecycle engine does when a filter's change falls due. */
export const filterAppliers: Appliers = {
  async ready(tx, filterId) {
    await setFilterStatus(tx, filterId, ['Creating', 'Modifying'], 'Created');
    await rulesReady(tx, { filterId });
  },
  delete: (tx, filterId) => deleteFilterCascade(tx, filterId),
};
