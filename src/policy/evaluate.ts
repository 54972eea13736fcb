/**
 * RAM policy evaluation (protocol.md §11.4 steps 3–6; the result feeds the
 * `NoPermissionType` of the §11.6 deny response). Pure: the caller supplies every
 * condition value, including `acs:CurrentTime`, in `context`.
 */

import { isIP } from 'node:net';
import {
  type Comparison,
  type ConditionTest,
  type PolicyCondition,
  type PolicyDocument,
  type PolicyStatement,
  parseDecimal,
  parseIsoDate,
} from './document.js';

export interface AuthorizationRequest {
  /** `<service>:<ActionName>`, e.g. `vpc:CreateTrafficMirrorFilter`. */
  action: string;
  /** Resource ARNs the action touches; must not be empty (use `"*"` for resource-less calls). */
  resources: readonly string[];
  /** Condition key → request values; keys are matched case-insensitively. */
  context: ReadonlyMap<string, readonly string[]>;
  /**
   * Condition values that belong to one resource (its `acs:ResourceTag/<key>`), by resource name:
   * a resource is judged with the request's context and its own values, never another's.
   */
  resourceContext?: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
}

export type Decision =
  | { allowed: true }
  | { allowed: false; noPermissionType: 'ExplicitDeny' | 'ImplicitDeny' };

type Context = ReadonlyMap<string, readonly string[]>;

const IPV4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** Re-keys the contexts in lower case as one, merging keys that differ only by case. */
function lowerCaseContext(...contexts: Context[]): Context {
  const lowered = new Map<string, readonly string[]>();
  for (const context of contexts) {
    for (const [key, values] of context) {
      const lower = key.toLowerCase();
      const existing = lowered.get(lower);
      lowered.set(lower, existing === undefined ? values : [...existing, ...values]);
    }
  }
  return lowered;
}

function compare(actual: number, comparison: Comparison, expected: number): boolean {
  switch (comparison) {
    case 'eq':
      return actual === expected;
    case 'lt':
      return actual < expected;
    case 'le':
      return actual <= expected;
    case 'gt':
      return actual > expected;
    case 'ge':
      return actual >= expected;
  }
}

/** Whether one request value satisfies the positive test against any policy value. */
function valueMatches(test: ConditionTest, value: string): boolean {
  switch (test.kind) {
    case 'equals':
      return test.values.has(test.ignoreCase ? value.toLowerCase() : value);
    case 'like':
      return test.pattern.test(value);
    case 'bool':
      return test.values.has(value.toLowerCase());
    case 'ip': {
      // Request values that are not addresses match nothing rather than throwing.
      // Each address only against the blocks of its own family; an IPv4-mapped IPv6 address is the
      // IPv4 client it wraps.
      const family = isIP(value);
      if (family === 4) return test.ipv4.check(value, 'ipv4');
      if (family !== 6) return false;
      const mapped = IPV4_MAPPED.exec(value)?.[1];
      return mapped !== undefined ? test.ipv4.check(mapped, 'ipv4') : test.ipv6.check(value, 'ipv6');
    }
    case 'numeric':
    case 'date': {
      const actual = test.kind === 'numeric' ? parseDecimal(value) : parseIsoDate(value);
      return (
        actual !== undefined && test.values.some((expected) => compare(actual, test.comparison, expected))
      );
    }
  }
}

/**
 * A negated operator is the exact complement of its positive form for each request value, and an
 * absent key satisfies it. A key carries several values only as tags: keys that differ in case
 * (`env` and `Env`, one condition key) on a request or a resource, or a key a request names twice
 * (refused later by the operation). Each value then stands for a tag of its own, so an Allow must
 * hold for every one of them and a Deny fires when it holds for any, whichever comes first.
 */
function conditionHolds(condition: PolicyCondition, context: Context, deny: boolean): boolean {
  const values = context.get(condition.contextKey);
  if (values === undefined || values.length === 0) return condition.negated;
  const holds = (value: string) => valueMatches(condition.test, value) !== condition.negated;
  return deny ? values.some(holds) : values.every(holds);
}

function actionMatches(statement: PolicyStatement, action: string): boolean {
  return statement.actionMatcher.test(action) !== statement.notAction;
}

function resourceMatches(statement: PolicyStatement, resource: string): boolean {
  return statement.resourceMatcher.test(resource) !== statement.notResource;
}

/**
 * Decides a request against a principal's identity policies. Each requested resource is
 * judged on its own, as if it were a separate request: a Deny matching any of them denies
 * the whole request, and every one of them must be granted by some Allow.
 */
export function evaluatePolicies(
  policies: readonly PolicyDocument[],
  request: AuthorizationRequest,
): Decision {
  const { action, resources } = request;
  if (resources.length === 0) {
    // An empty list would be vacuously allowed and could never meet a Deny.
    throw new TypeError('AuthorizationRequest.resources must not be empty');
  }
  let shared: Context | undefined;
  const contexts = new Map<string, Context>();
  const contextOf = (resource: string): Context => {
    shared ??= lowerCaseContext(request.context);
    const own = request.resourceContext?.get(resource);
    if (own === undefined) return shared;
    let context = contexts.get(resource);
    if (context === undefined) {
      context = lowerCaseContext(shared, own);
      contexts.set(resource, context);
    }
    return context;
  };
  const conditionsHold = (statement: PolicyStatement, resource: string): boolean => {
    if (statement.conditions.length === 0) return true;
    const context = contextOf(resource);
    const deny = statement.effect === 'Deny';
    return statement.conditions.every((condition) => conditionHolds(condition, context, deny));
  };

  const granted = new Array<boolean>(resources.length).fill(false);
  let grantedCount = 0;
  for (const policy of policies) {
    for (const statement of policy.statements) {
      const isDeny = statement.effect === 'Deny';
      // Once everything is granted, only a Deny can still change the outcome.
      if ((!isDeny && grantedCount === resources.length) || !actionMatches(statement, action)) continue;
      if (isDeny) {
        if (resources.some((r) => resourceMatches(statement, r) && conditionsHold(statement, r))) {
          return { allowed: false, noPermissionType: 'ExplicitDeny' };
        }
        continue;
      }
      resources.forEach((resource, index) => {
        if (granted[index] === true || !resourceMatches(statement, resource)) return;
        if (conditionsHold(statement, resource)) {
          granted[index] = true;
          grantedCount++;
        }
      });
    }
  }
  return grantedCount === resources.length
    ? { allowed: true }
    : { allowed: false, noPermissionType: 'ImplicitDeny' };
}
