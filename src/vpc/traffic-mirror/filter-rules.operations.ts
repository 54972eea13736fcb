/**
 * The filter rule operations (spec filters.md sections 4, 5, 8, 9): wire parameters, RAM resource
 * names and documented errors; the work is in filter-rules.service.ts. RAM has no rule type, so
 * every rule operation is authorized on the parent filter's ARN (section 13).
 */
import { defineOperation } from '../../api/operation.js';
import type { ParamSpec } from '../../api/schema.js';
import { protocolErrors } from '../../protocol/errors.js';
import { REGION_ID } from './common.js';
import { filterErrors, ruleErrors, sessionErrors } from './errors.js';
import { createRules, deleteRules, parentFilterOf, updateRule } from './filter-rules.service.js';

const ACTION = { type: 'string', enum: ['accept', 'drop'], doc: 'accept (mirror) or drop.' } as const;
const PROTOCOL = {
  type: 'string',
  enum: ['ALL', 'ICMP', 'TCP', 'UDP'],
  doc: 'ALL, ICMP, TCP or UDP.',
} as const;
const PRIORITY = { type: 'integer', min: 1, max: 10, doc: '1-10, unique per filter and direction.' } as const;
const CIDR = {
  type: 'string',
  maxLength: 64,
  doc: 'CIDR of the rule IP version; default 0.0.0.0/0 or ::/0.',
} as const;
const PORTS = {
  type: 'string',
  maxLength: 64,
  doc: 'start/end (1-65535) for TCP/UDP; ALL and ICMP always carry -1/-1.',
} as const;

/** `IngressRules.N.*` / `EgressRules.N.*`, at most 10 per direction. */
export const RULE_LIST = {
  type: 'objectList',
  maxItems: 10,
  overflow: () => ruleErrors.quota(10),
  fields: {
    Action: { ...ACTION, required: true },
    Protocol: { ...PROTOCOL, required: true },
    Priority: PRIORITY,
    SourceCidrBlock: CIDR,
    DestinationCidrBlock: CIDR,
    SourcePortRange: PORTS,
    DestinationPortRange: PORTS,
    IpVersion: { type: 'string', enum: ['IPv4', 'IPv6'], doc: 'IPv4 (default) or IPv6.' },
  },
} as const satisfies ParamSpec;

const FILTER_ID = { type: 'string', required: true, maxLength: 64 } as const;
const THE_FILTER = 'acs:vpc:{RegionId}:{accountId}:trafficmirrorfilter/{TrafficMirrorFilterId}';

/** Errors every rule change shares. */
const RULE_CHANGE_ERRORS = [
  filterErrors.notFound,
  filterErrors.incorrectStatus,
  sessionErrors.incorrectStatus,
  protocolErrors.operationConflict,
];

export const filterRuleOperations = [
  defineOperation({
    action: 'CreateTrafficMirrorFilterRules',
    summary: 'Adds inbound and/or outbound rules to a traffic mirror filter.',
    access: 'create',
    async: 'new rules Creating → Created',
    clientToken: true,
    dryRun: true,
    params: {
      RegionId: REGION_ID,
      TrafficMirrorFilterId: FILTER_ID,
      IngressRules: RULE_LIST,
      EgressRules: RULE_LIST,
    },
    oneOf: {
      params: ['IngressRules', 'EgressRules'],
      error: () => protocolErrors.invalidParameter('IngressRules'),
    },
    resource: THE_FILTER,
    errors: [...RULE_CHANGE_ERRORS, ruleErrors.quota],
    response: {
      IngressRules: { list: { fields: { InstanceId: 'string' } } },
      EgressRules: { list: { fields: { InstanceId: 'string' } } },
    },
    handler: (ctx, input) => createRules(ctx, input),
  }),
  defineOperation({
    action: 'UpdateTrafficMirrorFilterRuleAttribute',
    summary: 'Changes a filter rule; fields not sent keep their values.',
    access: 'update',
    async: 'rule Modifying → Created',
    clientToken: true,
    dryRun: true,
    params: {
      RegionId: REGION_ID,
      TrafficMirrorFilterRuleId: { type: 'string', required: true, maxLength: 64 },
      RuleAction: ACTION,
      Protocol: PROTOCOL,
      Priority: PRIORITY,
      SourceCidrBlock: CIDR,
      DestinationCidrBlock: CIDR,
      SourcePortRange: PORTS,
      DestinationPortRange: PORTS,
    },
    // The parent filter's ARN; a rule the caller does not own has none, so the call is checked
    // against all filters (`*`) and then answers ResourceNotFound.TrafficMirrorRule.
    resource: THE_FILTER,
    lookups: {
      TrafficMirrorFilterId: (input, scope) =>
        parentFilterOf(scope.db, scope.accountId, input.RegionId, input.TrafficMirrorFilterRuleId),
    },
    errors: [ruleErrors.notFound, ruleErrors.incorrectStatus, ...RULE_CHANGE_ERRORS],
    response: {},
    handler: async (ctx, input) => {
      await updateRule(ctx, input);
      return {};
    },
  }),
  defineOperation({
    action: 'DeleteTrafficMirrorFilterRules',
    summary: 'Deletes rules of a traffic mirror filter.',
    access: 'delete',
    async: 'rules Deleting → gone',
    clientToken: true,
    dryRun: true,
    params: {
      RegionId: REGION_ID,
      TrafficMirrorFilterId: FILTER_ID,
      TrafficMirrorFilterRuleIds: {
        type: 'list',
        item: { type: 'string', maxLength: 64 },
        required: true,
        maxItems: 20,
      },
    },
    resource: THE_FILTER,
    // No OperationConflict: a delete takes no priority, the only thing two writers can race for.
    errors: [
      ruleErrors.notFound,
      ruleErrors.incorrectStatus,
      filterErrors.notFound,
      filterErrors.incorrectStatus,
      sessionErrors.incorrectStatus,
    ],
    response: {},
    handler: async (ctx, input) => {
      await deleteRules(ctx, input);
      return {};
    },
  }),
];
