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
}

export type Decision =
  | { allowed: true }
  | { allowed: false; noPermissionType: 'ExplicitDeny' | 'ImplicitDeny' };

type Context = ReadonlyMap<string, readonly string[]>;

/** Re-keys the context in lower case, merging keys that differ only by case. */
function lowerCaseContext(context: Context): Context {
  const lowered = new Map<string, readonly string[]>();
  for (const [key, values] of context) {
    const lower = key.toLowerCase();
    const existing = lowered.get(lower);
    lowered.set(lower, existing === undefined ? values : [...existing, ...values]);
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
      const family = isIP(value);
      return family !== 0 && test.list.check(value, family === 6 ? 'ipv6' : 'ipv4');
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
 * A negated operator is the exact complement of its positive form: it holds when no request
 * value matches any policy value, which makes an absent key satisfy it.
 */
function conditionHolds(condition: PolicyCondition, context: Context): boolean {
  const values = context.get(condition.contextKey);
  const matched = values?.some((value) => valueMatches(condition.test, value)) === true;
  return matched !== condition.negated;
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
  let context: Context | undefined;
  const conditionsHold = (statement: PolicyStatement): boolean => {
    if (statement.conditions.length === 0) return true;
    context ??= lowerCaseContext(request.context);
    const lowered = context;
    return statement.conditions.every((condition) => conditionHolds(condition, lowered));
  };

  const granted = new Array<boolean>(resources.length).fill(false);
  let grantedCount = 0;
  for (const policy of policies) {
    for (const statement of policy.statements) {
      const isDeny = statement.effect === 'Deny';
      // Once everything is granted, only a Deny can still change the outcome.
      if ((!isDeny && grantedCount === resources.length) || !actionMatches(statement, action)) continue;
      if (isDeny) {
        if (resources.some((r) => resourceMatches(statement, r)) && conditionsHold(statement)) {
          return { allowed: false, noPermissionType: 'ExplicitDeny' };
        }
        continue;
      }
      let holds: boolean | undefined;
      resources.forEach((resource, index) => {
        if (granted[index] === true || !resourceMatches(statement, resource)) return;
        holds ??= conditionsHold(statement);
        if (holds) {
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
