/**
 * Filter rules: their validation (spec filters.md section 4), priority assignment and the three
 * rule operations. Rules change asynchronously (Creating/Modifying/Deleting) through the lifecycle
 * engine; the appliers at the bottom are what the engine runs when a change falls due.
 */
import { isIP } from 'node:net';
import type { OperationContext } from '../../api/operation.js';
import { wireName } from '../../api/schema.js';
import { newResourceId } from '../../ids.js';
import type { Appliers } from '../../lifecycle/lifecycle.js';
import { protocolErrors } from '../../protocol/errors.js';
import { isUniqueViolation } from '../../store/errors.js';
import { filterErrors, ruleErrors, sessionErrors } from './errors.js';
import {
  type Direction,
  deleteRule,
  findFilter,
  findRule,
  insertRules,
  lockCreatedFilter,
  modifyRule,
  type NewRule,
  type RuleFields,
  type RuleRow,
  rulesOf,
  rulesReady,
  sessionsUsingFilter,
  setRulesStatusFromCreated,
} from './filters.repo.js';

export const MAX_RULES_PER_DIRECTION = 10;
export const MAX_PRIORITY = 10;
const ALL_PORTS = '-1/-1';
const TRANSITIONAL = new Set(['Creating', 'Modifying', 'Deleting']);

/** A rule as it arrives in `IngressRules.N.*` / `EgressRules.N.*` (empty strings already dropped). */
export interface RuleInput {
  readonly Action: string;
  readonly Protocol: string;
  readonly Priority?: number;
  readonly SourceCidrBlock?: string;
  readonly DestinationCidrBlock?: string;
  readonly SourcePortRange?: string;
  readonly DestinationPortRange?: string;
  readonly IpVersion?: string;
}

/** A validated rule; priority undefined means "assign the lowest free one". */
export interface CheckedRule {
  readonly direction: Direction;
  readonly action: string;
  readonly protocol: string;
  readonly priority: number | undefined;
  readonly sourceCidr: string;
  readonly destinationCidr: string;
  readonly sourcePorts: string;
  readonly destinationPorts: string;
  readonly ipVersion: string;
  /** Wire name of this rule's Priority parameter, for error messages. */
  readonly priorityName: string;
}

/** True when `text` is `address/prefix` of the given family (IPv4: 0-32, IPv6: 0-128). */
export function isCidr(text: string, ipVersion: string): boolean {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return false;
  const address = text.slice(0, slash);
  const prefix = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || address.includes('%')) return false;
  const family = isIP(address);
  if (ipVersion === 'IPv4') return family === 4 && Number(prefix) <= 32;
  return family === 6 && Number(prefix) <= 128;
}

/** True for `start/end` with 1 <= start <= end <= 65535. */
export function isPortRange(text: string): boolean {
  const m = /^(\d{1,5})\/(\d{1,5})$/.exec(text);
  if (!m) return false;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return start >= 1 && start <= end && end <= 65535;
}

interface RuleValues {
  readonly protocol: string;
  readonly ipVersion: string;
  readonly sourceCidr: string | undefined;
  readonly destinationCidr: string | undefined;
  readonly sourcePorts: string | undefined;
  readonly destinationPorts: string | undefined;
}

/**
 * Checks CIDRs against the IP version and port ranges against the protocol, filling the
 * defaults. `name` maps a field to its wire name for the error message.
 */
function checkValues(
  v: RuleValues,
  name: (
    field: 'SourceCidrBlock' | 'DestinationCidrBlock' | 'SourcePortRange' | 'DestinationPortRange',
  ) => string,
): { sourceCidr: string; destinationCidr: string; sourcePorts: string; destinationPorts: string } {
  const anyCidr = v.ipVersion === 'IPv6' ? '::/0' : '0.0.0.0/0';
  const sourceCidr = v.sourceCidr ?? anyCidr;
  const destinationCidr = v.destinationCidr ?? anyCidr;
  if (!isCidr(sourceCidr, v.ipVersion)) throw protocolErrors.invalidParameter(name('SourceCidrBlock'));
  if (!isCidr(destinationCidr, v.ipVersion))
    throw protocolErrors.invalidParameter(name('DestinationCidrBlock'));
  // ALL and ICMP carry no ports: whatever was sent is replaced (spec filters.md A5).
  if (v.protocol === 'ALL' || v.protocol === 'ICMP') {
    return { sourceCidr, destinationCidr, sourcePorts: ALL_PORTS, destinationPorts: ALL_PORTS };
  }
  // TCP/UDP need both ranges; a missing one is not defaulted (spec filters.md A4).
  if (v.sourcePorts === undefined || !isPortRange(v.sourcePorts))
    throw protocolErrors.invalidParameter(name('SourcePortRange'));
  if (v.destinationPorts === undefined || !isPortRange(v.destinationPorts))
    throw protocolErrors.invalidParameter(name('DestinationPortRange'));
  return { sourceCidr, destinationCidr, sourcePorts: v.sourcePorts, destinationPorts: v.destinationPorts };
}

/** Validates the rules of one direction list (`IngressRules` or `EgressRules`). */
export function checkRules(list: 'IngressRules' | 'EgressRules', rules: readonly RuleInput[]): CheckedRule[] {
  const direction: Direction = list === 'IngressRules' ? 'ingress' : 'egress';
  // A priority the request gives twice is wrong whatever the filter holds: refused with the other
  // parameters, before the filter is looked up (spec filters.md 14).
  const given = new Set<number>();
  return rules.map((r, i) => {
    if (r.Priority !== undefined) {
      if (given.has(r.Priority))
        throw protocolErrors.invalidParameter(`${wireName(list, rules, i)}.Priority`);
      given.add(r.Priority);
    }
    const prefix = wireName(list, rules, i);
    const ipVersion = r.IpVersion ?? 'IPv4';
    const values = checkValues(
      {
        protocol: r.Protocol,
        ipVersion,
        sourceCidr: r.SourceCidrBlock,
        destinationCidr: r.DestinationCidrBlock,
        sourcePorts: r.SourcePortRange,
        destinationPorts: r.DestinationPortRange,
      },
      (field) => `${prefix}.${field}`,
    );
    return {
      direction,
      action: r.Action,
      protocol: r.Protocol,
      priority: r.Priority,
      ipVersion,
      priorityName: `${prefix}.Priority`,
      ...values,
    };
  });
}

/**
 * Fixes every new rule's priority in one direction: explicit ones must be free, missing ones get
 * the lowest free value (spec filters.md A2, A3). Throws the quota error first when the direction
 * would hold more than 10 rules.
 */
function assignPriorities(rules: readonly CheckedRule[], taken: ReadonlySet<number>): number[] {
  if (taken.size + rules.length > MAX_RULES_PER_DIRECTION) throw ruleErrors.quota(MAX_RULES_PER_DIRECTION);
  const used = new Set(taken);
  for (const r of rules) {
    if (r.priority === undefined) continue;
    if (used.has(r.priority)) throw protocolErrors.invalidParameter(r.priorityName);
    used.add(r.priority);
  }
  return rules.map((r) => {
    if (r.priority !== undefined) return r.priority;
    for (let p = 1; p <= MAX_PRIORITY; p++) {
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
    throw ruleErrors.quota(MAX_RULES_PER_DIRECTION);
  });
}

/**
 * Turns checked rules into rows for one filter, given the rules it already has. Rows are in
 * request order, ingress first.
 */
export function buildRuleRows(
  filterId: string,
  rules: readonly CheckedRule[],
  existing: readonly RuleRow[],
  now: number,
): NewRule[] {
  const rows: NewRule[] = [];
  for (const direction of ['ingress', 'egress'] as const) {
    const mine = rules.filter((r) => r.direction === direction);
    const held = existing.filter((e) => e.direction === direction);
    // A rule being deleted keeps its priority and its place in the quota until it is gone. A
    // request that only such rules stand in the way of is told it conflicts with that delete,
    // which Terraform retries on rule create and update (it does not wait for a rule delete to
    // finish), not that it is wrong.
    assignPriorities(mine, new Set(held.filter((e) => e.status !== 'Deleting').map((e) => e.priority)));
    let priorities: number[];
    try {
      priorities = assignPriorities(mine, new Set(held.map((e) => e.priority)));
    } catch {
      throw protocolErrors.operationConflict();
    }
    mine.forEach((r, i) => {
      rows.push({
        id: newResourceId('TrafficMirrorFilterRule', now),
        filter_id: filterId,
        direction,
        rule_action: r.action,
        protocol: r.protocol,
        priority: priorities[i] ?? 0,
        source_cidr_block: r.sourceCidr,
        destination_cidr_block: r.destinationCidr,
        source_port_range: r.sourcePorts,
        destination_port_range: r.destinationPorts,
        ip_version: r.ipVersion,
        status: 'Creating',
        created_at: now,
      });
    });
  }
  return rows;
}

/** A rule change must wait while a session using the filter is itself changing. */
async function requireSessionsStable(ctx: OperationContext, filterId: string): Promise<void> {
  const sessions = await sessionsUsingFilter(ctx.tx, filterId);
  if (sessions.some((s) => TRANSITIONAL.has(s.status))) throw sessionErrors.incorrectStatus();
}

/** Finds the caller's filter and holds it while Created; the errors every rule change shares. */
async function lockFilterForRuleChange(ctx: OperationContext, regionId: string, filterId: string) {
  const filter = await findFilter(ctx.tx, ctx.accountId, regionId, filterId);
  if (!filter) throw filterErrors.notFound();
  if (!(await lockCreatedFilter(ctx.tx, ctx.accountId, regionId, filterId)))
    throw filterErrors.incorrectStatus();
  return filter;
}

/** Runs a write whose unique index may catch a concurrent request taking the same priority. */
async function raceGuard<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (isUniqueViolation(e)) throw protocolErrors.operationConflict();
    throw e;
  }
}

export interface CreateRulesInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterId: string;
  readonly IngressRules: readonly RuleInput[];
  readonly EgressRules: readonly RuleInput[];
}

export async function createRules(
  ctx: OperationContext,
  input: CreateRulesInput,
): Promise<{ IngressRules: Array<{ InstanceId: string }>; EgressRules: Array<{ InstanceId: string }> }> {
  const checked = [
    ...checkRules('IngressRules', input.IngressRules),
    ...checkRules('EgressRules', input.EgressRules),
  ];
  const filter = await lockFilterForRuleChange(ctx, input.RegionId, input.TrafficMirrorFilterId);
  await requireSessionsStable(ctx, filter.id);
  const existing = (await rulesOf(ctx.tx, [filter.id])).get(filter.id) ?? [];
  const rows = buildRuleRows(filter.id, checked, existing, ctx.now);
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();
  await raceGuard(() => insertRules(ctx.tx, rows));
  for (const r of rows)
    await ctx.services.lifecycle.schedule(ctx.tx, 'rule', r.id, 'ready', 'create', ctx.now);
  return {
    IngressRules: rows.filter((r) => r.direction === 'ingress').map((r) => ({ InstanceId: r.id })),
    EgressRules: rows.filter((r) => r.direction === 'egress').map((r) => ({ InstanceId: r.id })),
  };
}

export interface UpdateRuleInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterRuleId: string;
  readonly RuleAction?: string;
  readonly Protocol?: string;
  readonly Priority?: number;
  readonly SourceCidrBlock?: string;
  readonly DestinationCidrBlock?: string;
  readonly SourcePortRange?: string;
  readonly DestinationPortRange?: string;
}

/** The filter a rule belongs to, for RAM (the rule has no ARN of its own). */
export async function parentFilterOf(
  db: OperationContext['tx'],
  accountId: string,
  regionId: string,
  ruleId: string,
): Promise<string | undefined> {
  return (await findRule(db, accountId, regionId, ruleId))?.filter_id;
}

/**
 * What the request alone shows to be malformed, refused before the rule is looked up (parameters
 * before existence and status, spec filters.md 14). A CIDR's family and whether ranges are needed
 * at all depend on the stored rule, so those wait for the merged check.
 */
function checkSentForms(input: UpdateRuleInput): void {
  for (const field of ['SourceCidrBlock', 'DestinationCidrBlock'] as const) {
    const cidr = input[field];
    if (cidr !== undefined && !isCidr(cidr, 'IPv4') && !isCidr(cidr, 'IPv6'))
      throw protocolErrors.invalidParameter(field);
  }
  // Ranges sent with ALL or ICMP are replaced, whatever they say (spec filters.md A5).
  if (input.Protocol !== 'TCP' && input.Protocol !== 'UDP') return;
  for (const field of ['SourcePortRange', 'DestinationPortRange'] as const) {
    const range = input[field];
    if (range !== undefined && !isPortRange(range)) throw protocolErrors.invalidParameter(field);
  }
}

export async function updateRule(ctx: OperationContext, input: UpdateRuleInput): Promise<void> {
  checkSentForms(input);
  const found = await findRule(ctx.tx, ctx.accountId, input.RegionId, input.TrafficMirrorFilterRuleId);
  if (!found) throw ruleErrors.notFound();
  await lockFilterForRuleChange(ctx, input.RegionId, found.filter_id);
  // Read again under the filter's lock: an update that committed while this one waited for it
  // (and, with a zero delay, already made the rule Created again) must not be written over with
  // the values read before.
  const rule = await findRule(ctx.tx, ctx.accountId, input.RegionId, input.TrafficMirrorFilterRuleId);
  if (!rule) throw ruleErrors.notFound();
  if (rule.status !== 'Created') throw ruleErrors.incorrectStatus();
  await requireSessionsStable(ctx, rule.filter_id);

  // Unspecified fields keep their values; the merged rule is checked as a whole. Ports of a rule
  // switched to ALL/ICMP become -1/-1, and a rule switched to TCP/UDP needs real ranges.
  const protocol = input.Protocol ?? rule.protocol;
  const values = checkValues(
    {
      protocol,
      ipVersion: rule.ip_version,
      sourceCidr: input.SourceCidrBlock ?? rule.source_cidr_block,
      destinationCidr: input.DestinationCidrBlock ?? rule.destination_cidr_block,
      sourcePorts: input.SourcePortRange ?? rule.source_port_range,
      destinationPorts: input.DestinationPortRange ?? rule.destination_port_range,
    },
    (field) => field,
  );
  const priority = input.Priority ?? rule.priority;
  if (priority !== rule.priority) {
    const siblings = (await rulesOf(ctx.tx, [rule.filter_id])).get(rule.filter_id) ?? [];
    const holder = siblings.find(
      (s) => s.id !== rule.id && s.direction === rule.direction && s.priority === priority,
    );
    // Held only until a delete finishes: as when creating rules (buildRuleRows).
    if (holder?.status === 'Deleting') throw protocolErrors.operationConflict();
    if (holder) throw protocolErrors.invalidParameter('Priority');
  }
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();
  const fields: RuleFields = {
    rule_action: input.RuleAction ?? rule.rule_action,
    protocol,
    priority,
    source_cidr_block: values.sourceCidr,
    destination_cidr_block: values.destinationCidr,
    source_port_range: values.sourcePorts,
    destination_port_range: values.destinationPorts,
  };
  if (!(await raceGuard(() => modifyRule(ctx.tx, rule.id, fields)))) throw ruleErrors.incorrectStatus();
  await ctx.services.lifecycle.schedule(ctx.tx, 'rule', rule.id, 'ready', 'update', ctx.now);
}

export interface DeleteRulesInput {
  readonly RegionId: string;
  readonly TrafficMirrorFilterId: string;
  readonly TrafficMirrorFilterRuleIds: readonly string[];
}

export async function deleteRules(ctx: OperationContext, input: DeleteRulesInput): Promise<void> {
  const filter = await findFilter(ctx.tx, ctx.accountId, input.RegionId, input.TrafficMirrorFilterId);
  if (!filter) throw filterErrors.notFound();
  const ids = [...new Set(input.TrafficMirrorFilterRuleIds)];
  const known = new Set(((await rulesOf(ctx.tx, [filter.id])).get(filter.id) ?? []).map((r) => r.id));
  if (ids.some((id) => !known.has(id))) throw ruleErrors.notFound();
  if (!(await lockCreatedFilter(ctx.tx, ctx.accountId, input.RegionId, filter.id)))
    throw filterErrors.incorrectStatus();
  // Read again now that the filter is held, so that what a delete committed while this one waited
  // for the filter is seen: a rule it took is the rule's own status error, on both stores.
  const current = (await rulesOf(ctx.tx, [filter.id])).get(filter.id) ?? [];
  const rules = new Map(current.map((r) => [r.id, r]));
  if (ids.some((id) => !rules.has(id))) throw ruleErrors.notFound();
  if (ids.some((id) => rules.get(id)?.status !== 'Created')) throw ruleErrors.incorrectStatus();
  // No second deletion on a filter while one is under way (spec filters.md 1.3).
  if (current.some((r) => r.status === 'Deleting')) throw filterErrors.incorrectStatus();
  await requireSessionsStable(ctx, filter.id);
  if (ctx.dryRun) throw protocolErrors.dryRunOperation();
  // Conditional: a concurrent delete or update of one of these rules makes this one fail whole.
  if ((await setRulesStatusFromCreated(ctx.tx, filter.id, ids, 'Deleting')) !== ids.length)
    throw ruleErrors.incorrectStatus();
  for (const id of ids)
    await ctx.services.lifecycle.schedule(ctx.tx, 'rule', id, 'delete', 'delete', ctx.now);
}

/** What the lifecycle engine does when a rule's change falls due. */
export const ruleAppliers: Appliers = {
  ready: (tx, ruleId) => rulesReady(tx, { ruleId }),
  delete: (tx, ruleId) => deleteRule(tx, ruleId),
};
