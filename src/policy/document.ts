/**
 * RAM policy documents (protocol.md §11.2 and §11.3): strict validation of the policy
 * language and normalisation into a typed structure whose matchers are compiled up front,
 * because evaluation (evaluate.ts) runs on every request while parsing runs once per policy.
 */

import { BlockList, isIP } from 'node:net';
import { compileGlobs, type GlobMatcher } from './glob.js';

export class PolicyDocumentError extends Error {
  override name = 'PolicyDocumentError';
}

export type Effect = 'Allow' | 'Deny';

export type ConditionOperator =
  | 'StringEquals'
  | 'StringNotEquals'
  | 'StringEqualsIgnoreCase'
  | 'StringNotEqualsIgnoreCase'
  | 'StringLike'
  | 'StringNotLike'
  | 'NumericEquals'
  | 'NumericNotEquals'
  | 'NumericLessThan'
  | 'NumericLessThanEquals'
  | 'NumericGreaterThan'
  | 'NumericGreaterThanEquals'
  | 'DateEquals'
  | 'DateNotEquals'
  | 'DateLessThan'
  | 'DateLessThanEquals'
  | 'DateGreaterThan'
  | 'DateGreaterThanEquals'
  | 'Bool'
  | 'IpAddress'
  | 'NotIpAddress';

/** How a request value relates to a policy value: `lt` means request < policy. */
export type Comparison = 'eq' | 'lt' | 'le' | 'gt' | 'ge';

/**
 * The positive form of an operator, compiled. A negated operator uses the same test and
 * inverts the outcome (see `PolicyCondition.negated`).
 */
export type ConditionTest =
  | { readonly kind: 'equals'; readonly ignoreCase: boolean; readonly values: ReadonlySet<string> }
  | { readonly kind: 'like'; readonly pattern: GlobMatcher }
  | { readonly kind: 'numeric'; readonly comparison: Comparison; readonly values: readonly number[] }
  | { readonly kind: 'date'; readonly comparison: Comparison; readonly values: readonly number[] }
  | { readonly kind: 'bool'; readonly values: ReadonlySet<string> }
  /**
   * One list per family: node's BlockList compares an IPv4 address as `::ffff:a.b.c.d`, so a single
   * list would let `::/0` match every IPv4 caller.
   */
  | { readonly kind: 'ip'; readonly ipv4: BlockList; readonly ipv6: BlockList };

export interface PolicyCondition {
  readonly operator: ConditionOperator;
  /** The key as written in the policy. */
  readonly key: string;
  /** Lower-cased key: condition keys are case-insensitive. */
  readonly contextKey: string;
  /** Policy values as strings, as written (numbers and booleans stringified). */
  readonly values: readonly string[];
  readonly negated: boolean;
  readonly test: ConditionTest;
}

export interface PolicyStatement {
  readonly effect: Effect;
  /** Patterns from `Action`, or from `NotAction` when `notAction` is true. */
  readonly actions: readonly string[];
  readonly notAction: boolean;
  /** Patterns from `Resource`, or from `NotResource` when `notResource` is true. */
  readonly resources: readonly string[];
  readonly notResource: boolean;
  /** All must hold. */
  readonly conditions: readonly PolicyCondition[];
  /** Matches an action against any of `actions`, case-insensitively. */
  readonly actionMatcher: GlobMatcher;
  /** Matches one resource ARN against any of `resources`, case-sensitively. */
  readonly resourceMatcher: GlobMatcher;
}

export interface PolicyDocument {
  readonly version: '1';
  readonly statements: readonly PolicyStatement[];
}

type OperatorKind = ConditionTest['kind'];

const OPERATORS: Readonly<
  Record<
    ConditionOperator,
    { kind: OperatorKind; negated: boolean; comparison?: Comparison; ignoreCase?: boolean }
  >
> = {
  StringEquals: { kind: 'equals', negated: false },
  StringNotEquals: { kind: 'equals', negated: true },
  StringEqualsIgnoreCase: { kind: 'equals', negated: false, ignoreCase: true },
  StringNotEqualsIgnoreCase: { kind: 'equals', negated: true, ignoreCase: true },
  StringLike: { kind: 'like', negated: false },
  StringNotLike: { kind: 'like', negated: true },
  NumericEquals: { kind: 'numeric', negated: false, comparison: 'eq' },
  NumericNotEquals: { kind: 'numeric', negated: true, comparison: 'eq' },
  NumericLessThan: { kind: 'numeric', negated: false, comparison: 'lt' },
  NumericLessThanEquals: { kind: 'numeric', negated: false, comparison: 'le' },
  NumericGreaterThan: { kind: 'numeric', negated: false, comparison: 'gt' },
  NumericGreaterThanEquals: { kind: 'numeric', negated: false, comparison: 'ge' },
  DateEquals: { kind: 'date', negated: false, comparison: 'eq' },
  DateNotEquals: { kind: 'date', negated: true, comparison: 'eq' },
  DateLessThan: { kind: 'date', negated: false, comparison: 'lt' },
  DateLessThanEquals: { kind: 'date', negated: false, comparison: 'le' },
  DateGreaterThan: { kind: 'date', negated: false, comparison: 'gt' },
  DateGreaterThanEquals: { kind: 'date', negated: false, comparison: 'ge' },
  Bool: { kind: 'bool', negated: false },
  IpAddress: { kind: 'ip', negated: false },
  NotIpAddress: { kind: 'ip', negated: true },
};

const DOCUMENT_ELEMENTS = new Set(['Version', 'Statement']);
const STATEMENT_ELEMENTS = new Set(['Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

// Rejects hex, "Infinity", blanks and the other forms `Number()` would quietly accept.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** Parses a decimal number; undefined when `text` is not one. */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses an ISO 8601 date or date-time into epoch milliseconds; undefined when invalid.
 * A date-time without a zone is taken as UTC, which is what §11.3 prescribes.
 * Calendar fields are checked by hand because `Date.parse` rolls 02-30 over to March.
 */
export function parseIsoDate(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (day > daysInMonth(year, month)) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const digits = zone.replace(':', '');
    const oh = Number(digits.slice(1, 3));
    const om = Number(digits.slice(3, 5));
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  // Digits, not float arithmetic: 0.291 * 1000 is 290.99999999999994.
  const millis = Number(frac.slice(1, 4).padEnd(3, '0'));
  const utc = new Date(0);
  // setUTCFullYear so that years 0000–0099 are not shifted into the 1900s.
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  return utc.getTime() - offsetMinutes * 60_000;
}

function fail(message: string): never {
  throw new PolicyDocumentError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Path segment for an object key: dotted when it reads well, JSON-quoted otherwise. */
function member(path: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Path of the index-th item of an element that may be given as a single value or an array. */
function itemPathOf(path: string, value: unknown): (index: number) => string {
  return Array.isArray(value) ? (index) => `${path}[${index}]` : () => path;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function rejectUnknownElements(
  object: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  path: string,
): void {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) fail(`${member(path, key)} is not a recognised policy element`);
  }
}

/** A string or a non-empty array of non-empty strings (Action, NotAction, Resource, NotResource). */
function stringList(value: unknown, path: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) fail(`${path} must not be an empty array`);
  const itemPath = itemPathOf(path, value);
  return items.map((item, index) => {
    if (typeof item !== 'string') fail(`${itemPath(index)} must be a string, got ${describe(item)}`);
    if (item === '') fail(`${itemPath(index)} must not be an empty string`);
    return item;
  });
}

// `<service>:<action>` where either side may use wildcards; `*` alone covers all services.
const ACTION_FORMAT = /^[^:\s]+:[^:\s]+$/;

function parseActions(
  statement: Record<string, unknown>,
  path: string,
): { actions: string[]; notAction: boolean } {
  const hasAction = 'Action' in statement;
  const hasNotAction = 'NotAction' in statement;
  if (hasAction === hasNotAction) fail(`${path} must contain exactly one of Action or NotAction`);
  const element = hasAction ? 'Action' : 'NotAction';
  const elementPath = `${path}.${element}`;
  const value = statement[element];
  const actions = stringList(value, elementPath);
  const itemPath = itemPathOf(elementPath, value);
  actions.forEach((action, index) => {
    if (action !== '*' && !ACTION_FORMAT.test(action)) {
      fail(`${itemPath(index)} must be "*" or "<service>:<action>", got ${JSON.stringify(action)}`);
    }
  });
  return { actions, notAction: !hasAction };
}

function parseResources(
  statement: Record<string, unknown>,
  path: string,
): { resources: string[]; notResource: boolean } {
  const hasResource = 'Resource' in statement;
  const hasNotResource = 'NotResource' in statement;
  if (hasResource === hasNotResource) fail(`${path} must contain exactly one of Resource or NotResource`);
  const element = hasResource ? 'Resource' : 'NotResource';
  return { resources: stringList(statement[element], `${path}.${element}`), notResource: !hasResource };
}

function conditionValues(value: unknown, path: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) fail(`${path} must not be an empty array`);
  const itemPath = itemPathOf(path, value);
  return items.map((item, index) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'boolean') return String(item);
    if (typeof item === 'number' && Number.isFinite(item)) return String(item);
    return fail(`${itemPath(index)} must be a string, number or boolean, got ${describe(item)}`);
  });
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address stands for, however it is written
 * (`::ffff:10.0.0.0`, `0:0:0:0:0:ffff:a00:0`, …); undefined for any other address.
 */
function ipv4Mapped(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  // The URL parser writes every IPv6 address one way: the mapped ones as [::ffff:hhhh:hhhh].
  const canonical = new URL(`http://[${address}]/`).hostname;
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(canonical);
  if (!m?.[1] || !m[2]) return undefined;
  const high = Number.parseInt(m[1], 16);
  const low = Number.parseInt(m[2], 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

function ipLists(
  values: readonly string[],
  itemPath: (index: number) => string,
): { ipv4: BlockList; ipv6: BlockList } {
  const lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  values.forEach((value, index) => {
    const [written = '', prefix, extra] = value.split('/');
    // `::ffff:10.0.0.0/104` names IPv4 callers (the server sees them as 10.x): kept as 10.0.0.0/8.
    const mapped = written.includes('%') ? undefined : ipv4Mapped(written);
    const address = mapped ?? written;
    const family = address.includes('%') ? 0 : isIP(address);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    const maxPrefix = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined) {
      fail(`${itemPath(index)} must be an IP address or CIDR block, got ${JSON.stringify(value)}`);
    }
    if (prefix === undefined) {
      lists[type].addAddress(address, type);
      return;
    }
    const writtenBits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    const bits = mapped === undefined ? writtenBits : writtenBits - 96;
    if (!(bits >= 0 && bits <= maxPrefix)) {
      fail(
        `${itemPath(index)} has an invalid prefix length in ${JSON.stringify(value)} (${mapped === undefined ? `0-${maxPrefix}` : '96-128 for an IPv4-mapped address'} allowed)`,
      );
    }
    lists[type].addSubnet(address, bits, type);
  });
  return lists;
}

function compileTest(
  operator: ConditionOperator,
  values: readonly string[],
  itemPath: (index: number) => string,
): ConditionTest {
  const spec = OPERATORS[operator];
  const comparison = spec.comparison ?? 'eq';
  switch (spec.kind) {
    case 'equals':
      return {
        kind: 'equals',
        ignoreCase: spec.ignoreCase === true,
        values: new Set(spec.ignoreCase === true ? values.map((v) => v.toLowerCase()) : values),
      };
    case 'like':
      return { kind: 'like', pattern: compileGlobs(values, false) };
    case 'numeric':
      return {
        kind: 'numeric',
        comparison,
        values: values.map(
          (v, i) => parseDecimal(v) ?? fail(`${itemPath(i)} must be a number, got ${JSON.stringify(v)}`),
        ),
      };
    case 'date':
      return {
        kind: 'date',
        comparison,
        values: values.map(
          (v, i) =>
            parseIsoDate(v) ?? fail(`${itemPath(i)} must be an ISO 8601 date, got ${JSON.stringify(v)}`),
        ),
      };
    case 'bool':
      return {
        kind: 'bool',
        values: new Set(
          values.map((v, i) => {
            const lower = v.toLowerCase();
            return lower === 'true' || lower === 'false'
              ? lower
              : fail(`${itemPath(i)} must be true or false, got ${JSON.stringify(v)}`);
          }),
        ),
      };
    case 'ip':
      return { kind: 'ip', ...ipLists(values, itemPath) };
  }
}

function isOperator(name: string): name is ConditionOperator {
  return Object.hasOwn(OPERATORS, name);
}

function parseCondition(value: unknown, path: string): PolicyCondition[] {
  if (!isRecord(value)) fail(`${path} must be an object, got ${describe(value)}`);
  const conditions: PolicyCondition[] = [];
  for (const [operator, block] of Object.entries(value)) {
    const operatorPath = member(path, operator);
    if (!isOperator(operator)) fail(`${operatorPath} is not a supported condition operator`);
    if (!isRecord(block)) fail(`${operatorPath} must be an object of condition keys, got ${describe(block)}`);
    const keys = Object.entries(block);
    if (keys.length === 0) fail(`${operatorPath} must contain at least one condition key`);
    for (const [key, raw] of keys) {
      const keyPath = member(operatorPath, key);
      if (key === '') fail(`${operatorPath} has an empty condition key`);
      const values = conditionValues(raw, keyPath);
      const test = compileTest(operator, values, itemPathOf(keyPath, raw));
      conditions.push({
        operator,
        key,
        contextKey: key.toLowerCase(),
        values,
        negated: OPERATORS[operator].negated,
        test,
      });
    }
  }
  return conditions;
}

function parseStatement(value: unknown, path: string): PolicyStatement {
  if (!isRecord(value)) fail(`${path} must be an object, got ${describe(value)}`);
  rejectUnknownElements(value, STATEMENT_ELEMENTS, path);
  const effect = value.Effect;
  if (effect === undefined) fail(`${path}.Effect is required`);
  if (effect !== 'Allow' && effect !== 'Deny') fail(`${path}.Effect must be "Allow" or "Deny"`);
  const { actions, notAction } = parseActions(value, path);
  const { resources, notResource } = parseResources(value, path);
  const conditions = 'Condition' in value ? parseCondition(value.Condition, `${path}.Condition`) : [];
  return {
    effect,
    actions,
    notAction,
    resources,
    notResource,
    conditions,
    actionMatcher: compileGlobs(actions, true),
    resourceMatcher: compileGlobs(resources, false),
  };
}

/**
 * Validates a RAM policy document, given as JSON text or as an already-parsed value, and
 * returns it normalised. Throws `PolicyDocumentError` naming the offending element.
 */
export function parsePolicyDocument(input: string | unknown): PolicyDocument {
  let document: unknown = input;
  if (typeof input === 'string') {
    try {
      document = JSON.parse(input);
    } catch (error) {
      fail(`Policy document is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!isRecord(document)) fail(`Policy document must be a JSON object, got ${describe(document)}`);
  rejectUnknownElements(document, DOCUMENT_ELEMENTS, '');
  if (document.Version === undefined) fail('Version is required');
  if (document.Version !== '1') fail(`Version must be "1", got ${JSON.stringify(document.Version)}`);
  const raw = document.Statement;
  if (raw === undefined) fail('Statement is required');
  let statements: PolicyStatement[];
  if (Array.isArray(raw)) {
    if (raw.length === 0) fail('Statement must not be an empty array');
    statements = raw.map((statement, index) => parseStatement(statement, `Statement[${index}]`));
  } else if (isRecord(raw)) {
    statements = [parseStatement(raw, 'Statement')];
  } else {
    fail(`Statement must be an array or an object, got ${describe(raw)}`);
  }
  return { version: '1', statements };
}
