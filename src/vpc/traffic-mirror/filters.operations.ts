/**
 * The traffic mirror filter operations (spec filters.md sections 3, 7, 10, 11): wire parameters,
 * RAM resource names and documented errors; the work is in filters.service.ts. The rule
 * operations are in filter-rules.operations.ts and join this group.
 */
import { defineOperation } from '../../api/operation.js';
import {
  DESCRIPTION,
  FILTER_RESPONSE,
  MAX_RESULTS,
  NAME,
  NEXT_TOKEN,
  REGION_ID,
  RESOURCE_GROUP_FILTER,
  RESOURCE_GROUP_ID,
  TAG_FILTER,
  TAG_LIST,
} from './common.js';
import { filterErrors, listErrors, resourceGroupErrors, ruleErrors, tagErrors } from './errors.js';
import { filterRuleOperations, RULE_LIST } from './filter-rules.operations.js';
import { createFilter, deleteFilter, listFilters, updateFilter } from './filters.service.js';

const FILTER_ID = { type: 'string', required: true, maxLength: 64 } as const;
const ANY_FILTER = 'acs:vpc:{RegionId}:{accountId}:trafficmirrorfilter/*';
const THE_FILTER = 'acs:vpc:{RegionId}:{accountId}:trafficmirrorfilter/{TrafficMirrorFilterId}';

export const filterOperations = [
  defineOperation({
    action: 'CreateTrafficMirrorFilter',
    summary: 'Creates a traffic mirror filter, optionally with inbound and outbound rules and tags.',
    access: 'create',
    async: 'filter and inline rules Creating → Created',
    clientToken: true,
    dryRun: true,
    params: {
      RegionId: REGION_ID,
      TrafficMirrorFilterName: { ...NAME, doc: '1-128 characters, not starting with http:// or https://.' },
      TrafficMirrorFilterDescription: {
        ...DESCRIPTION,
        doc: '1-256 characters, not starting with http:// or https://.',
      },
      ResourceGroupId: RESOURCE_GROUP_ID,
      Tag: TAG_LIST,
      IngressRules: RULE_LIST,
      EgressRules: RULE_LIST,
    },
    resource: ANY_FILTER,
    errors: [
      filterErrors.quota,
      ruleErrors.quota,
      resourceGroupErrors.invalid,
      tagErrors.invalidKey,
      tagErrors.invalidValue,
      tagErrors.tooManyInRequest,
      tagErrors.duplicateKey,
    ],
    response: { TrafficMirrorFilterId: 'string', ResourceGroupId: 'string' },
    handler: (ctx, input) => createFilter(ctx, input),
  }),
  defineOperation({
    action: 'UpdateTrafficMirrorFilterAttribute',
    summary: 'Renames a traffic mirror filter or changes its description (synchronous).',
    access: 'update',
    clientToken: true,
    dryRun: true,
    params: {
      RegionId: REGION_ID,
      TrafficMirrorFilterId: FILTER_ID,
      TrafficMirrorFilterName: { ...NAME, doc: '1-128 characters; empty means unchanged.' },
      TrafficMirrorFilterDescription: { ...DESCRIPTION, doc: '1-256 characters; empty means unchanged.' },
    },
    resource: THE_FILTER,
    errors: [filterErrors.notFound, filterErrors.incorrectStatus],
    response: {},
    handler: async (ctx, input) => {
      await updateFilter(ctx, input);
      return {};
    },
  }),
  defineOperation({
    action: 'DeleteTrafficMirrorFilter',
    summary: 'Deletes a traffic mirror filter with its rules and tags.',
    access: 'delete',
    async: 'filter and rules Deleting → gone',
    clientToken: true,
    dryRun: true,
    params: {
      RegionId: REGION_ID,
      TrafficMirrorFilterId: FILTER_ID,
    },
    resource: THE_FILTER,
    errors: [filterErrors.notFound, filterErrors.incorrectStatus, ruleErrors.incorrectStatus],
    response: {},
    handler: async (ctx, input) => {
      await deleteFilter(ctx, input);
      return {};
    },
  }),
  defineOperation({
    action: 'ListTrafficMirrorFilters',
    summary: 'Lists traffic mirror filters with their rules and tags, in creation order.',
    access: 'list',
    params: {
      RegionId: REGION_ID,
      // No length limit: an id of any length that names no filter is simply absent.
      TrafficMirrorFilterIds: { type: 'list', item: { type: 'string' }, maxItems: 100 },
      TrafficMirrorFilterName: { type: 'string', maxLength: 128, doc: 'Exact name.' },
      ResourceGroupId: RESOURCE_GROUP_FILTER,
      Tags: TAG_FILTER,
      MaxResults: MAX_RESULTS,
      NextToken: NEXT_TOKEN,
    },
    resource: ANY_FILTER,
    errors: [listErrors.nextToken, tagErrors.tooManyInRequest],
    response: {
      TotalCount: 'string',
      Count: 'integer',
      MaxResults: 'integer',
      NextToken: 'string',
      TrafficMirrorFilters: { list: { fields: FILTER_RESPONSE } },
    },
    handler: (ctx, input) => listFilters(ctx, input),
  }),
  ...filterRuleOperations,
];
