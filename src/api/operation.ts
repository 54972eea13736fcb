/**
 * One declarative description per operation: wire parameters, RAM action and resource names,
 * access level, documented errors and the handler. The pipeline only ever sees the erased form
 * (`RegisteredOperation`); the typed input stays inside the closure built by defineOperation.
 */

import { hash } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { type ApiError, isApiError } from '../protocol/api-error.js';
import type { ErrorFactory } from '../protocol/define-error.js';
import type { Executor } from '../store/database.js';
import type { ResponseShape } from './response.js';
import {
  type InputOf,
  type ParamSpec,
  type ParamSpecs,
  type ValidationContext,
  validateParams,
} from './schema.js';

export type AccessLevel = 'read' | 'list' | 'create' | 'update' | 'delete';

/** What a handler may use. Services receive it whole; they never see HTTP. */
export interface OperationContext {
  readonly requestId: string;
  readonly principal: Principal;
  /** The account every resource of this call belongs to. */
  readonly accountId: string;
  /** A transaction for writes; the connection itself for read-only operations. */
  readonly tx: Executor;
  readonly now: number;
  readonly dryRun: boolean;
  readonly services: OperationServices;
  /**
   * The resource names RAM allowed this call, as the operation's `resources` named them before it
   * ran; undefined when RAM did not judge the call (an account's own key, or RAM off). A handler
   * that finds it must act on a resource RAM was not asked about (the store changed in between)
   * refuses instead.
   */
  readonly authorized: readonly string[] | undefined;
}

/** Cross-cutting services handed to handlers (filled in by the app). */
export interface OperationServices {
  readonly lifecycle: import('../lifecycle/lifecycle.js').Lifecycle;
  /** Seals and opens the NextTokens of List operations. */
  readonly pageTokens: import('./page-tokens.js').PageTokens;
  readonly limits: import('../config.js').ResourceLimits;
  readonly regions: readonly string[];
}

export interface ResourceScope {
  readonly accountId: string;
  readonly db: Executor;
}

export const CLIENT_TOKEN_SPEC = {
  type: 'string',
  ascii: true,
  maxLength: 64,
  doc: 'Idempotence key: ASCII, at most 64 characters.',
} as const satisfies ParamSpec;
export const DRY_RUN_SPEC = {
  type: 'boolean',
  doc: 'Check only; answer DryRunOperation.',
} as const satisfies ParamSpec;

/**
 * Parameters a ClientToken retry is not compared on: the token itself, DryRun, and the region,
 * which is part of the token's key already.
 */
export const NOT_COMPARED: ReadonlySet<string> = new Set(['ClientToken', 'DryRun', 'RegionId']);

export interface OperationDefinition<P extends ParamSpecs> {
  readonly action: string;
  readonly summary: string;
  readonly access: AccessLevel;
  readonly params: P;
  /**
   * Parameters of which the call must give at least one, and the error when it gives none:
   * checked with the parameters, so before RAM (errors.md, order of checks).
   */
  readonly oneOf?: { readonly params: readonly (keyof P & string)[]; readonly error: () => ApiError };
  /** Accepts ClientToken (idempotence). */
  readonly clientToken?: boolean;
  /** Accepts DryRun. */
  readonly dryRun?: boolean;
  /** Asynchronous operations name the status a resource passes through (docs only). */
  readonly async?: string;
  /**
   * The RAM resource name as a template, e.g.
   * `acs:vpc:{RegionId}:{accountId}:trafficmirrorsession/{TrafficMirrorSessionId}`. `{accountId}` is the
   * caller's account; `{Name}` is the input parameter (a list gives one name per item; absent gives `*`), or a
   * value from `lookups`. Authorization and the operation docs both derive from it.
   */
  readonly resource?: string;
  /** Values a template needs that the request does not carry (a rule's parent filter). */
  readonly lookups?: Readonly<
    Record<string, (input: InputOf<P>, scope: ResourceScope) => Promise<string | undefined>>
  >;
  /** For names a template cannot express: computes them. Prefer `resource`. */
  readonly resources?: (
    input: InputOf<P>,
    scope: ResourceScope,
  ) => readonly string[] | Promise<readonly string[]>;
  /** How `resources` names them, for the docs (required with `resources`). */
  readonly resourceDoc?: string;
  /** Operation-specific errors (the common ones apply to every operation). */
  readonly errors: readonly ErrorFactory<never>[];
  /** The body a success answers, besides RequestId. */
  readonly response: ResponseShape;
  readonly handler: (ctx: OperationContext, input: InputOf<P>) => Promise<Record<string, unknown>>;
}

export interface PreparedCall {
  readonly regionId: string | undefined;
  readonly clientToken: string | undefined;
  /**
   * What a ClientToken compares (protocol.md 10): the validated parameters but ClientToken, DryRun
   * and RegionId. So a retry that says the same in other words (`Priority=07`, an empty value for
   * one left out, OwnerId and the other parameters the service ignores) is the same request.
   */
  fingerprint(): string;
  readonly dryRun: boolean;
  /**
   * The tags the request attaches (acs:RequestTag/<key>). A read attaches none: the `Tag.N` of
   * ListTagResources is a search, not a tag the caller sets.
   */
  readonly requestTags: readonly (readonly [key: string, value: string])[];
  resources(scope: ResourceScope): Promise<readonly string[]>;
  execute(ctx: OperationContext): Promise<Record<string, unknown>>;
}

export interface RegisteredOperation {
  readonly action: string;
  /** The RAM resource template, for the docs. */
  readonly resourceDoc: string;
  readonly summary: string;
  readonly access: AccessLevel;
  readonly ramAction: string;
  readonly readOnly: boolean;
  readonly clientToken: boolean;
  readonly dryRun: boolean;
  readonly async: string | undefined;
  readonly params: ParamSpecs;
  /** Parameters of which a call gives at least one (the docs name them). */
  readonly oneOf: readonly string[];
  readonly errors: readonly ErrorFactory<never>[];
  readonly response: ResponseShape;
  prepare(params: ReadonlyMap<string, string>, ctx: ValidationContext): PreparedCall;
}

/** The `Tag.N` pairs of a request, every one of them, in request order. */
function tagsOf(input: Record<string, unknown>): Array<readonly [string, string]> {
  const tags: Array<readonly [string, string]> = [];
  const list = input.Tag;
  if (Array.isArray(list)) {
    for (const t of list) {
      if (t && typeof t === 'object' && 'Key' in t && typeof t.Key === 'string') {
        tags.push([t.Key, 'Value' in t && typeof t.Value === 'string' ? t.Value : '']);
      }
    }
  }
  return tags;
}

/** Whether the request gives a value to any of these parameters, or to an item of one. */
function sentAny(raw: ReadonlyMap<string, string>, names: readonly string[]): boolean {
  for (const [key, value] of raw)
    if (value !== '' && names.some((n) => key === n || key.startsWith(`${n}.`))) return true;
  return false;
}

/** A resource template cut at its placeholders: text, then the key that follows it (if any). */
type TemplatePart = readonly [text: string, key: string | undefined];

/** Every call of an operation expands the same template; it is cut once. */
const templateParts = new Map<string, readonly TemplatePart[]>();

function partsOf(template: string): readonly TemplatePart[] {
  let parts = templateParts.get(template);
  if (!parts) {
    const pieces = template.split(/\{([A-Za-z]+)\}/);
    const cut: TemplatePart[] = [];
    for (let i = 0; i < pieces.length; i += 2) cut.push([pieces[i] ?? '', pieces[i + 1]]);
    parts = cut;
    templateParts.set(template, parts);
  }
  return parts;
}

/** Expands a resource template for one call (see OperationDefinition.resource). */
export async function expandResource<P extends ParamSpecs>(
  template: string,
  input: InputOf<P>,
  scope: ResourceScope,
  lookups: OperationDefinition<P>['lookups'],
): Promise<string[]> {
  let names = [''];
  const values = input as Record<string, unknown>;
  for (const [text, key] of partsOf(template)) {
    if (key === undefined) {
      names = names.map((n) => n + text);
      continue;
    }
    let v: unknown = key === 'accountId' ? scope.accountId : values[key];
    const lookup = lookups?.[key];
    if (v === undefined && lookup) v = await lookup(input, scope);
    if (!Array.isArray(v)) {
      const one = text + (v === undefined ? '*' : String(v));
      names = names.map((n) => n + one);
      continue;
    }
    const options = v.length > 0 ? v.map(String) : ['*'];
    names = names.flatMap((n) => options.map((o) => n + text + o));
  }
  return names;
}

export function defineOperation<P extends ParamSpecs>(def: OperationDefinition<P>): RegisteredOperation {
  const template = def.resource;
  const compute = def.resources;
  if (template === undefined && compute === undefined) throw new Error(`${def.action}: no RAM resource`);
  const resourceDoc = template ?? def.resourceDoc ?? '(computed)';
  const params: ParamSpecs = {
    ...def.params,
    ...(def.clientToken ? { ClientToken: CLIENT_TOKEN_SPEC } : {}),
    ...(def.dryRun ? { DryRun: DRY_RUN_SPEC } : {}),
  };
  return {
    action: def.action,
    resourceDoc,
    summary: def.summary,
    access: def.access,
    ramAction: `vpc:${def.action}`,
    readOnly: def.access === 'read' || def.access === 'list',
    clientToken: def.clientToken === true,
    dryRun: def.dryRun === true,
    async: def.async,
    params,
    oneOf: def.oneOf?.params ?? [],
    errors: def.errors,
    response: def.response,
    prepare(raw, vctx) {
      const noneOf = def.oneOf && !sentAny(raw, def.oneOf.params) ? def.oneOf.error : undefined;
      let all: Record<string, unknown>;
      try {
        all = validateParams(params, raw, vctx) as Record<string, unknown>;
      } catch (e) {
        // Missing before malformed (errors.md): a pair of which neither was sent is missing too.
        if (noneOf && isApiError(e) && !e.code.startsWith('Missing')) throw noneOf();
        throw e;
      }
      if (noneOf) throw noneOf();
      // An optional RegionId left out is the server's first region (the default endpoint's), for
      // the handler and for the key its ClientToken is kept under alike.
      if (all.RegionId === undefined && params.RegionId !== undefined) {
        const first = vctx.regions.values().next();
        if (!first.done) all.RegionId = first.value;
      }
      const input = all as InputOf<P>;
      const regionId = typeof all.RegionId === 'string' ? all.RegionId : undefined;
      const clientToken = typeof all.ClientToken === 'string' ? all.ClientToken : undefined;
      return {
        regionId,
        clientToken,
        fingerprint: () => {
          const business = Object.fromEntries(Object.entries(all).filter(([k]) => !NOT_COMPARED.has(k)));
          return hash('sha256', JSON.stringify(business), 'hex');
        },
        dryRun: all.DryRun === true,
        requestTags: def.access === 'read' || def.access === 'list' ? [] : tagsOf(all),
        resources: async (scope) =>
          template !== undefined
            ? expandResource(template, input, scope, def.lookups)
            : (compute?.(input, scope) ?? ['*']),
        execute: (ctx) => def.handler(ctx, input),
      };
    },
  };
}

/** `acs:vpc:{regionId}:{accountId}:{relative}` */
export function arn(regionId: string, accountId: string, relative: string): string {
  return `acs:vpc:${regionId}:${accountId}:${relative}`;
}
