/**
 * One request, every step in order. This function is the whole life of an RPC call; each step
 * names the spec section whose order it copies (spec protocol.md section 4).
 */
import { randomUUID } from 'node:crypto';
import type { OperationContext, OperationServices, RegisteredOperation } from './api/operation.js';
import { type AuthSettings, authenticate, detectScheme, isV3Authorization } from './auth/authenticate.js';
import { authorize } from './auth/authorize.js';
import type { CredentialCache } from './auth/credential-cache.js';
import type { NonceRecorder } from './auth/nonce-batcher.js';
import type { Principal } from './auth/principal.js';
import { parseV3Authorization } from './auth/signature.js';
import { type ApiError, isApiError } from './protocol/api-error.js';
import { protocolErrors } from './protocol/errors.js';
import { type ParsedParams, parseParams } from './protocol/params.js';
import type { RpcRequest } from './protocol/request.js';
import {
  errorResponse,
  type ResponseFormat,
  successResponse,
  type WireResponse,
} from './protocol/serialize.js';
import { claimToken, completeToken, releaseToken, type TokenKey } from './store/client-tokens.repo.js';
import type { Db, Executor } from './store/database.js';
import { isStoreUnavailable } from './store/errors.js';
import type { TransactionRunner } from './store/group-commit.js';

export const API_VERSION = '2016-04-28';

export interface PipelineDeps {
  readonly db: Db;
  /** Lets this request's reads see every commit made before it arrived (Store.freshReads). */
  readonly freshReads: () => void;
  /** Where a writing operation gets its transaction (store/group-commit.ts). */
  readonly writes: TransactionRunner;
  readonly operations: ReadonlyMap<string, RegisteredOperation>;
  readonly services: OperationServices;
  readonly auth: AuthSettings;
  readonly credentials: CredentialCache;
  readonly nonces: NonceRecorder;
  readonly regions: ReadonlySet<string>;
  readonly ramEnforced: boolean;
  readonly hostId: string;
  readonly clientTokenTtlMs: number;
  /** Owner of the ClientTokens this node claims. */
  readonly nodeId: string;
  readonly clock: () => number;
  readonly onInternalError: (err: unknown, requestId: string) => void;
  /** A store failure a retry may not meet, answered ServiceUnavailable (store/errors.ts). */
  readonly onStoreUnavailable: (err: unknown, requestId: string) => void;
}

/** What the access log records about a request. */
export interface CallRecord {
  requestId: string;
  action: string | undefined;
  accessKeyId: string | undefined;
  /** Who the verified key is (the access line names a RAM user or role, not only its key). */
  principal: Principal | undefined;
  code: string | undefined;
  /** The error's message, for the debug line. */
  message: string | undefined;
  /** The parameters as read (query and body), for the debug line; undefined when unreadable. */
  params: ParsedParams | undefined;
}

export interface PipelineResult {
  readonly response: WireResponse;
  readonly record: CallRecord;
}

/**
 * How long a first request may hold its ClientToken before a retry on another node may take it
 * over. A node that restarts frees its own dead claims at once (releaseOrphanedTokens).
 */
const TOKEN_LEASE_MS = 60_000;

/**
 * The ClientTokens requests of this process are running on, by node: a claim of this node that
 * none of them holds was left behind by a failed release, and a retry may take it over at once.
 * Per process, not per app, since apps of one process may share a node id (tests, a second node
 * with other limits).
 */
const tokensRunning = new Map<string, number>();

function enterToken(nodeId: string, k: TokenKey): string {
  const key = `${nodeId}\n${k.accountId}\n${k.regionId}\n${k.action}\n${k.clientToken}`;
  tokensRunning.set(key, (tokensRunning.get(key) ?? 0) + 1);
  return key;
}

function leaveToken(key: string): void {
  const left = (tokensRunning.get(key) ?? 1) - 1;
  if (left > 0) tokensRunning.set(key, left);
  else tokensRunning.delete(key);
}

function single(req: RpcRequest, name: string): string | undefined {
  return req.header(name)[0];
}

export async function runPipeline(deps: PipelineDeps, req: RpcRequest): Promise<PipelineResult> {
  // 0. This request reads from every commit made before it arrived, by any process.
  deps.freshReads();
  // 1. Every answer, success or error, carries a fresh upper-case UUID.
  const requestId = randomUUID().toUpperCase();
  const record: CallRecord = {
    requestId,
    action: undefined,
    accessKeyId: undefined,
    principal: undefined,
    code: undefined,
    message: undefined,
    params: undefined,
  };
  let format: ResponseFormat = 'JSON';
  try {
    // 2. Transport: method and path (protocol.md 2, 4.1).
    const target = originForm(req.url);
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const rawQuery = q < 0 ? '' : target.slice(q + 1);
    // Refused before its parameters are read, or while they are, a V1 request that asks for XML
    // still gets XML.
    if (req.method !== 'GET' && req.method !== 'POST') {
      if (refusedAsksForXml(req, rawQuery)) format = 'XML';
      throw protocolErrors.unsupportedHttpMethod();
    }
    let params: ParsedParams;
    try {
      params = parseParams(rawQuery, req.body, single(req, 'content-type'));
      // Kept on the record: a refused request's log lines name the key it claimed, and at debug
      // level show what it sent.
      record.params = params;
    } catch (e) {
      if (refusedAsksForXml(req, rawQuery)) format = 'XML';
      throw e;
    }
    // The scheme decides what was signed, so also which source names the action (step 3).
    const scheme = detectScheme({ method: req.method, header: req.header, params, body: req.body });
    // XML only for V1 requests that ask for it; V3 clients always read JSON (protocol.md A8).
    if (scheme !== 'V3' && params.all.get('Format')?.toUpperCase() === 'XML') format = 'XML';
    if (path !== '/') throw protocolErrors.actionNotFound();
    // A request signed by neither scheme is refused before its action is looked at (step 3).
    if (scheme === undefined) throw protocolErrors.missingAccessKeyId();

    // 3. Action and version: V3 signs them in headers, V1 in parameters, and a V1 request acts
    //    only on what it signed; a header a V1 client sends along must still agree.
    const v1 = scheme === 'V1';
    const action = pick(single(req, 'x-acs-action'), params.all.get('Action'), 'Action', !v1);
    const version = pick(single(req, 'x-acs-version'), params.all.get('Version'), 'Version', !v1);
    record.action = action;
    if (version !== API_VERSION) throw protocolErrors.invalidVersion();
    const op = action === undefined ? undefined : deps.operations.get(action);
    if (!op) throw protocolErrors.actionNotFound();

    // 4. Authentication: scheme, AccessKey, signature, clock, nonce (protocol.md 4.3-4.8). Keys
    //    and policies come out as of a RAM generation read after the key was looked up.
    const now = deps.clock();
    const { principal, credentials } = await authenticate(
      { credentials: deps.credentials, nonces: deps.nonces },
      { method: req.method, header: req.header, params, body: req.body },
      deps.auth,
      now,
      scheme,
      record,
    );
    record.accessKeyId = principal.accessKeyId;
    record.principal = principal;

    // 5. Parameters: required, types, ranges, enums, region (from the operation table).
    const call = op.prepare(params.all, { regions: deps.regions });

    // 6. RAM: the operation's action on the operation's resource names. DryRun calls included.
    //    An account's own key may do anything in it: its resource names, which may need a read
    //    (a rule's parent filter, a session's current filter), are not worked out at all.
    let authorized: readonly string[] | undefined;
    if (deps.ramEnforced && principal.type !== 'Account') {
      const resources = await call.resources({ accountId: principal.accountId, db: deps.db });
      await authorize(deps.db, credentials, {
        principal,
        action: op.ramAction,
        resources,
        sourceIp: req.remoteAddress,
        secureTransport: req.secure,
        now,
        requestTags: call.requestTags,
      });
      authorized = resources;
    }

    // 7. ClientToken: replay a finished call, refuse a different or a running one. DryRun calls
    //    neither read nor write the token store (protocol.md 10).
    const tokenKey: TokenKey | undefined =
      op.clientToken && call.clientToken !== undefined && !call.dryRun
        ? {
            accountId: principal.accountId,
            regionId: call.regionId ?? '',
            action: op.action,
            clientToken: call.clientToken,
          }
        : undefined;
    // Counted before the claim: a request that claimed must be seen as running here by any other
    // request on the token from the moment its claim exists.
    const running = tokenKey ? enterToken(deps.nodeId, tokenKey) : undefined;
    const holder = tokenKey ? { owner: deps.nodeId, leaseUntil: now + TOKEN_LEASE_MS } : undefined;
    let body: Record<string, unknown>;
    try {
      if (tokenKey && running) {
        const claim = await claimToken(
          deps.db,
          tokenKey,
          call.fingerprint(),
          now,
          TOKEN_LEASE_MS,
          deps.clientTokenTtlMs,
          deps.nodeId,
          () => (tokensRunning.get(running) ?? 0) > 1,
        );
        if (claim.kind === 'mismatch') throw protocolErrors.idempotentParameterMismatch();
        if (claim.kind === 'processing') throw protocolErrors.lastTokenProcessing();
        if (claim.kind === 'replay') {
          record.code = 'Replayed';
          return {
            response: successResponse(
              op.action,
              { ...claim.response, RequestId: requestId },
              format,
              requestId,
            ),
            record,
          };
        }
      }

      // 8. The operation itself, in one transaction with the token's completion. A DryRun ends in
      //    DryRunOperation thrown by the service after its checks, which rolls everything back.
      try {
        body = await execute(deps, op, principal, requestId, now, call.dryRun, authorized, (ctx) =>
          call.execute(ctx).then(async (result) => {
            // Ran past its lease and a retry took the token over: roll back rather than do the
            // work twice under one token.
            if (tokenKey && !(await completeToken(ctx.tx, tokenKey, result, holder)))
              throw protocolErrors.lastTokenProcessing();
            return result;
          }),
        );
      } catch (e) {
        if (tokenKey) await releaseToken(deps.db, tokenKey, holder).catch(() => undefined);
        throw e;
      }
    } finally {
      if (running) leaveToken(running);
    }

    // 9. Serialize.
    return {
      response: successResponse(op.action, { RequestId: requestId, ...body }, format, requestId),
      record,
    };
  } catch (e) {
    let err: ApiError;
    if (isApiError(e)) err = e;
    else if (isStoreUnavailable(e)) {
      deps.onStoreUnavailable(e, requestId);
      err = protocolErrors.serviceUnavailable();
    } else {
      deps.onInternalError(e, requestId);
      err = protocolErrors.internalError();
    }
    record.code = err.code;
    record.message = err.message;
    // The key a refused request claimed says which client is misconfigured. A key the store has
    // is named already (authenticate told the record); any other "id" may be a secret pasted in
    // its place, and only its first characters are logged.
    if (record.accessKeyId === undefined) {
      const claimed = claimedAccessKeyId(req, record.params);
      if (claimed !== undefined) record.accessKeyId = `${claimed.slice(0, 4)}…`;
    }
    return { response: errorResponse(err, format, requestId, deps.hostId), record };
  }
}

/** The AccessKey id a request names, before it is checked: V3's Credential, else V1's parameter. */
function claimedAccessKeyId(req: RpcRequest, params: ParsedParams | undefined): string | undefined {
  const authorization = single(req, 'authorization');
  if (isV3Authorization(authorization)) return parseV3Authorization(authorization ?? '')?.accessKeyId;
  return params?.all.get('AccessKeyId');
}

function pick(
  header: string | undefined,
  param: string | undefined,
  name: string,
  headerCounts: boolean,
): string | undefined {
  // A V1 request runs what it signed; the header it sends along may differ in case only (pop-core
  // capitalises the Action parameter of `request('describeRegions')` but not its header).
  if (
    header !== undefined &&
    param !== undefined &&
    (headerCounts ? header !== param : header.toLowerCase() !== param.toLowerCase())
  )
    throw protocolErrors.invalidParameter(name);
  return headerCounts ? (header ?? param) : param;
}

/** A request refused before its scheme is known: whether it is a V1 one that asks for XML. */
function refusedAsksForXml(req: RpcRequest, rawQuery: string): boolean {
  return !isV3Authorization(single(req, 'authorization')) && asksForXml(rawQuery, req.body);
}

/** `Format=XML` in a query or form body that could not be read as parameters. */
function asksForXml(rawQuery: string, body: Buffer): boolean {
  // The name exactly, the value in any case: as the parameters would have been read.
  const xml = /(?:^|&)Format=[Xx][Mm][Ll](?:&|$)/;
  return xml.test(rawQuery) || (body.length > 0 && xml.test(body.toString('latin1')));
}

/** `http://host:port/?…` (absolute form, RFC 9112 3.2.2) as `/?…`; other targets unchanged. */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  const scheme = /^https?:\/\/[^/?#]*/i.exec(url);
  if (!scheme) return url;
  const rest = url.slice(scheme[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

async function execute(
  deps: PipelineDeps,
  op: RegisteredOperation,
  principal: Principal,
  requestId: string,
  now: number,
  dryRun: boolean,
  authorized: readonly string[] | undefined,
  run: (ctx: OperationContext) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const context = (tx: Executor): OperationContext => ({
    requestId,
    principal,
    accountId: principal.accountId,
    tx,
    now,
    dryRun,
    services: deps.services,
    authorized,
  });
  if (op.readOnly) return run(context(deps.db));
  return deps.writes((tx) => run(context(tx)));
}
