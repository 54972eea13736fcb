/**
 * Parameter schemas as data. Each operation declares its wire parameters once; validation,
 * coercion of wire strings, the TypeScript type of a handler's input and the parameter docs all
 * derive from that declaration.
 */
import { type ApiError, isApiError } from '../protocol/api-error.js';
import { protocolErrors } from '../protocol/errors.js';

export interface StringSpec {
  readonly type: 'string';
  readonly required?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly enum?: readonly string[];
  readonly pattern?: RegExp;
  /** ClientToken style: printable ASCII only. */
  readonly ascii?: boolean;
  /** Names and descriptions must not start with http:// or https://. */
  readonly noUrlPrefix?: boolean;
  /** Keep an empty string as a value instead of treating it as absent (tag values). */
  readonly allowEmpty?: boolean;
  /** Match enum values case-insensitively and return the canonical spelling. */
  readonly caseInsensitive?: boolean;
  /** The RegionId check: must be a configured region. */
  readonly region?: boolean;
  /** The error for a value these checks refuse (default: InvalidParameter naming the parameter). */
  readonly invalid?: () => ApiError;
  readonly doc?: string;
}
export interface IntegerSpec {
  readonly type: 'integer';
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly doc?: string;
}
export interface BooleanSpec {
  readonly type: 'boolean';
  readonly required?: boolean;
  readonly doc?: string;
}
export type ScalarSpec = StringSpec | IntegerSpec | BooleanSpec;
/** `Name.1`, `Name.2`, … */
export interface ListSpec {
  readonly type: 'list';
  readonly item: ScalarSpec;
  readonly required?: boolean;
  readonly maxItems: number;
  /** The error for more than maxItems items (default: InvalidParameter naming the item). */
  readonly overflow?: () => ApiError;
  readonly doc?: string;
}
/** `Name.1.Field`, … */
export interface ObjectListSpec {
  readonly type: 'objectList';
  readonly fields: Readonly<Record<string, ScalarSpec>>;
  readonly required?: boolean;
  readonly maxItems: number;
  /** The error for more than maxItems items (default: InvalidParameter naming the item). */
  readonly overflow?: () => ApiError;
  readonly doc?: string;
}
export type ParamSpec = ScalarSpec | ListSpec | ObjectListSpec;
export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

type ScalarValue<S> = S extends IntegerSpec ? number : S extends BooleanSpec ? boolean : string;
type ObjectValue<F extends Readonly<Record<string, ScalarSpec>>> = {
  [K in keyof F as F[K] extends { required: true } ? K : never]: ScalarValue<F[K]>;
} & { [K in keyof F as F[K] extends { required: true } ? never : K]?: ScalarValue<F[K]> };
type Value<S> = S extends ListSpec
  ? ScalarValue<S['item']>[]
  : S extends ObjectListSpec
    ? ObjectValue<S['fields']>[]
    : ScalarValue<S>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The handler's input type, derived from the declaration: lists are always arrays. */
export type InputOf<P extends ParamSpecs> = Simplify<
  {
    [K in keyof P as P[K] extends { required: true } | ListSpec | ObjectListSpec ? K : never]: Value<P[K]>;
  } & {
    [K in keyof P as P[K] extends { required: true } | ListSpec | ObjectListSpec ? never : K]?: Value<P[K]>;
  }
>;

export interface ValidationContext {
  regions: ReadonlySet<string>;
}

const INTEGER = /^-?\d{1,16}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function invalid(name: string): ApiError {
  return protocolErrors.invalidParameter(name);
}

function coerceScalar(
  name: string,
  raw: string,
  spec: ScalarSpec,
  ctx: ValidationContext,
): string | number | boolean {
  switch (spec.type) {
    case 'integer': {
      if (!INTEGER.test(raw)) throw invalid(name);
      const n = Number(raw);
      if (!Number.isSafeInteger(n)) throw invalid(name);
      if (spec.min !== undefined && n < spec.min) throw invalid(name);
      if (spec.max !== undefined && n > spec.max) throw invalid(name);
      return n;
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw invalid(name);
    }
    case 'string': {
      if (spec.region) {
        if (!ctx.regions.has(raw)) throw protocolErrors.regionNotFound();
        return raw;
      }
      const refused = () => (spec.invalid ? spec.invalid() : invalid(name));
      if (spec.minLength !== undefined && raw.length < spec.minLength) throw refused();
      if (spec.maxLength !== undefined && raw.length > spec.maxLength) throw refused();
      if (spec.ascii && !PRINTABLE_ASCII.test(raw)) throw refused();
      if (spec.noUrlPrefix && /^https?:\/\//i.test(raw)) throw refused();
      if (spec.pattern && !spec.pattern.test(raw)) throw refused();
      if (spec.enum) {
        const found = spec.caseInsensitive
          ? spec.enum.find((e) => e.toLowerCase() === raw.toLowerCase())
          : spec.enum.find((e) => e === raw);
        if (found === undefined) throw refused();
        return found;
      }
      return raw;
    }
  }
}

/** Collects `Prefix.N` / `Prefix.N.Field` keys in index order; gaps in N are tolerated. */
function listEntries(
  params: ReadonlyMap<string, string>,
  prefix: string,
  maxItems: number,
  overflow: (() => ApiError) | undefined,
): Map<number, Map<string, string>> {
  // A list sent under its bare name (`TrafficMirrorSessionIds=tms-…`, as the aliyun CLI sends a
  // list flag given without its index) is not an unknown parameter to ignore: the call would act on
  // another list than the one meant (a List unfiltered), so it is refused like a malformed member.
  // Except the text pop-core makes of a property left undefined or null: that asks for nothing.
  const bare = params.get(prefix);
  if (bare && bare !== 'undefined' && bare !== 'null') throw invalid(prefix);
  const items = new Map<number, Map<string, string>>();
  const head = `${prefix}.`;
  for (const [key, value] of params) {
    if (!key.startsWith(head)) continue;
    const rest = key.slice(head.length);
    const dot = rest.indexOf('.');
    const indexText = dot < 0 ? rest : rest.slice(0, dot);
    if (!/^[1-9]\d{0,3}$/.test(indexText)) throw invalid(key);
    // `Name.1.` would otherwise read as `Name.1`, and the later of the two replace the other.
    if (dot === rest.length - 1) throw invalid(key);
    const index = Number(indexText);
    if (index > maxItems) throw overflow ? overflow() : invalid(key);
    let item = items.get(index);
    if (!item) {
      item = new Map();
      items.set(index, item);
    }
    item.set(dot < 0 ? '' : rest.slice(dot + 1), value);
  }
  return items.size < 2 ? items : new Map([...items.entries()].sort((a, b) => a[0] - b[0]));
}

/** The index each item of a validated list was sent under (`Name.3` → 3), by the list's array. */
const wireIndexes = new WeakMap<readonly unknown[], readonly number[]>();

/**
 * The wire name of item `position` of a list validateParams returned: the index the client sent,
 * which differs from the position when the client left gaps or sent empty items.
 */
export function wireName(name: string, list: readonly unknown[], position: number): string {
  return `${name}.${wireIndexes.get(list)?.[position] ?? position + 1}`;
}

function present(raw: string | undefined, spec: ScalarSpec): raw is string {
  return raw !== undefined && (raw !== '' || (spec.type === 'string' && spec.allowEmpty === true));
}

/** An operation's declarations as a list, made once: every call of the operation walks them. */
const specLists = new WeakMap<ParamSpecs, readonly (readonly [string, ParamSpec])[]>();

function specListOf(specs: ParamSpecs): readonly (readonly [string, ParamSpec])[] {
  let list = specLists.get(specs);
  if (!list) {
    list = Object.entries(specs);
    specLists.set(specs, list);
  }
  return list;
}

/**
 * The error for the first required parameter (in declaration order) the request lacks altogether.
 * Checked only once another parameter has failed: the service reports a missing parameter before
 * a malformed one (protocol.md 4, step 11), whatever order they are declared in.
 */
function firstMissing(specs: ParamSpecs, params: ReadonlyMap<string, string>): ApiError | undefined {
  for (const [name, spec] of specListOf(specs)) {
    if (spec.type === 'list' || spec.type === 'objectList') {
      const head = `${name}.`;
      let any = false;
      const items = new Set<string>();
      for (const [key, value] of params) {
        if (!key.startsWith(head)) continue;
        if (value !== '') any = true;
        // Items sent with fields (`Name.2.Field`); a bare `Name.2` is malformed, not incomplete.
        const m = /^([1-9]\d{0,3})\./.exec(key.slice(head.length));
        // An item past maxItems is refused as such (a quota, or InvalidParameter), not as incomplete.
        if (m?.[1] && Number(m[1]) <= spec.maxItems) items.add(m[1]);
      }
      if (spec.required && !any) return protocolErrors.missingParameter(`${name}.1`);
      // Each item's own required fields, items in index order.
      if (spec.type === 'objectList')
        for (const index of [...items].sort((a, b) => Number(a) - Number(b)))
          for (const [field, fieldSpec] of Object.entries(spec.fields))
            if (fieldSpec.required && !present(params.get(`${name}.${index}.${field}`), fieldSpec))
              return protocolErrors.missingParameter(`${name}.${index}.${field}`);
    } else if (spec.required && !present(params.get(name), spec))
      return protocolErrors.missingParameterShort(name);
  }
  return undefined;
}

export function validateParams<P extends ParamSpecs>(
  specs: P,
  params: ReadonlyMap<string, string>,
  ctx: ValidationContext,
): InputOf<P> {
  try {
    return validateInOrder(specs, params, ctx);
  } catch (e) {
    throw (isApiError(e) && firstMissing(specs, params)) || e;
  }
}

function validateInOrder<P extends ParamSpecs>(
  specs: P,
  params: ReadonlyMap<string, string>,
  ctx: ValidationContext,
): InputOf<P> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of specListOf(specs)) {
    if (spec.type === 'list') {
      const values: unknown[] = [];
      const indexes: number[] = [];
      for (const [index, item] of listEntries(params, name, spec.maxItems, spec.overflow)) {
        const raw = item.get('');
        if (item.size !== 1 || raw === undefined) throw invalid(`${name}.${index}`);
        if (!present(raw, spec.item)) continue;
        values.push(coerceScalar(`${name}.${index}`, raw, spec.item, ctx));
        indexes.push(index);
      }
      wireIndexes.set(values, indexes);
      if (spec.required && values.length === 0) throw protocolErrors.missingParameter(`${name}.1`);
      out[name] = values;
    } else if (spec.type === 'objectList') {
      const values: Record<string, unknown>[] = [];
      const indexes: number[] = [];
      for (const [index, item] of listEntries(params, name, spec.maxItems, spec.overflow)) {
        const obj: Record<string, unknown> = {};
        for (const field of item.keys()) {
          if (!Object.hasOwn(spec.fields, field))
            throw invalid(`${name}.${index}${field ? `.${field}` : ''}`);
        }
        for (const [field, fieldSpec] of Object.entries(spec.fields)) {
          const raw = item.get(field);
          const wireName = `${name}.${index}.${field}`;
          if (!present(raw, fieldSpec)) {
            if (fieldSpec.required) throw protocolErrors.missingParameter(wireName);
            continue;
          }
          obj[field] = coerceScalar(wireName, raw, fieldSpec, ctx);
        }
        values.push(obj);
        indexes.push(index);
      }
      wireIndexes.set(values, indexes);
      if (spec.required && values.length === 0) throw protocolErrors.missingParameter(`${name}.1`);
      out[name] = values;
    } else {
      const raw = params.get(name);
      if (!present(raw, spec)) {
        if (spec.required) throw protocolErrors.missingParameterShort(name);
        continue;
      }
      out[name] = coerceScalar(name, raw, spec, ctx);
    }
  }
  return out as InputOf<P>;
}
