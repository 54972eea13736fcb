/**
 * The authentication step of the pipeline (spec protocol.md section 4, steps 3 and 5-8): pick the
 * signature scheme, resolve the AccessKey, verify the signature, then the clock and the nonce.
 * The nonce is recorded only after the signature is valid, so an attacker cannot burn nonces.
 *
 * Keys come from the node's credential cache, and the RAM generation that proves them current is
 * read with the nonce batch, after the lookups: one read per batch instead of one per request.
 * When it shows a change, the checks run again on the current rows before anything else happens;
 * a request they then refuse has used its nonce, as a request refused after its nonce always has.
 */

import { protocolErrors } from '../protocol/errors.js';
import type { ParsedParams } from '../protocol/params.js';
import type { AccessKeyRow } from '../store/credentials.repo.js';
import type { CredentialCache, CredentialView } from './credential-cache.js';
import type { NonceRecorder } from './nonce-batcher.js';
import type { Principal } from './principal.js';
import {
  parseV3Authorization,
  sha256Hex,
  signaturesEqual,
  V3_ALGORITHM,
  V3_REQUIRED_SIGNED_HEADERS,
  v1Sign,
  v1StringToSign,
  v3CanonicalRequest,
  v3Sign,
  v3StringToSign,
} from './signature.js';

export interface AuthSettings {
  /** Largest accepted distance between the request time and the server clock. */
  readonly maxSkewMs: number;
  readonly checkTimestamp: boolean;
  readonly checkNonce: boolean;
}

export interface AuthRequest {
  readonly method: string;
  /** Every value a header was sent with (lower-case name). */
  readonly header: (name: string) => readonly string[];
  readonly params: ParsedParams;
  readonly body: Buffer;
}

export type SignatureScheme = 'V1' | 'V3';

export interface AuthResult {
  readonly principal: Principal;
  readonly scheme: SignatureScheme;
  /** Keys and policies as of a generation read after the request's lookups. */
  readonly credentials: CredentialView;
}

/** A request whose signature, clock and token hold; its nonce is still to be recorded. */
interface Verified {
  readonly principal: Principal;
  readonly nonce: string;
  /** The time the request says it was signed. */
  readonly signedAt: number;
}

/** Headers the server reads on a V3 request besides the signed ones. */
const V3_READ_HEADERS = [
  'authorization',
  'content-type',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
  'x-acs-security-token',
] as const;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

export function parseTimestamp(value: string | undefined): number {
  const m = value === undefined ? null : TIMESTAMP.exec(value);
  if (!m) throw protocolErrors.timestampFormat();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw protocolErrors.timestampFormat();
  }
  return t;
}

/** An Authorization header of the V3 scheme: what makes a request V3, whatever else it carries. */
export function isV3Authorization(value: string | undefined): boolean {
  return value?.startsWith('ACS3-') === true;
}

/** Which scheme a request uses, decided before anything is looked up. */
export function detectScheme(req: AuthRequest): SignatureScheme | undefined {
  if (isV3Authorization(req.header('authorization')[0])) return 'V3';
  if (req.params.all.has('Signature') || req.params.all.has('AccessKeyId')) return 'V1';
  return undefined;
}

function principalOf(row: AccessKeyRow): Principal {
  const type = row.role_name !== null ? 'AssumedRoleUser' : row.user_name !== null ? 'SubUser' : 'Account';
  return {
    accountId: row.account_id,
    type,
    name: row.role_name ?? row.user_name ?? row.account_id,
    accessKeyId: row.access_key_id,
    userName: row.user_name,
    roleName: row.role_name,
    sessionPolicy: row.session_policy,
  };
}

/** Where authentication reads keys and records nonces. */
export interface AuthSources {
  readonly credentials: Pick<CredentialCache, 'cached' | 'fresh' | 'observe'>;
  readonly nonces: NonceRecorder;
}

async function loadKey(view: CredentialView, accessKeyId: string): Promise<AccessKeyRow> {
  const row = await view.accessKey(accessKeyId);
  if (!row) throw protocolErrors.accessKeyNotFound();
  if (row.status !== 'Active') throw protocolErrors.accessKeyInactive();
  return row;
}

function checkSecurityToken(row: AccessKeyRow, token: string | undefined, now: number): void {
  if (row.security_token === null) {
    // A token sent with a long-term key cannot be one we issued for it.
    if (token !== undefined && token !== '') throw protocolErrors.securityTokenMalformed();
    return;
  }
  if (token === undefined || token === '') throw protocolErrors.missingSecurityToken();
  if (!signaturesEqual(token, row.security_token)) {
    throw token.startsWith('vmst.')
      ? protocolErrors.securityTokenMismatch()
      : protocolErrors.securityTokenMalformed();
  }
  if (row.expires_at !== null && row.expires_at <= now) throw protocolErrors.securityTokenExpired();
}

/** The request's signing time, once it is within the accepted distance of the server clock. */
function checkClock(settings: AuthSettings, time: string | undefined, now: number): number {
  const t = parseTimestamp(time);
  if (settings.checkTimestamp && Math.abs(now - t) > settings.maxSkewMs)
    throw protocolErrors.timestampExpired();
  return t;
}

type Verifier = (
  view: CredentialView,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
) => Promise<Verified>;

async function verifyV1(
  view: CredentialView,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
): Promise<Verified> {
  const p = req.params.all;
  const accessKeyId = p.get('AccessKeyId');
  if (!accessKeyId) throw protocolErrors.missingAccessKeyId();
  const signature = p.get('Signature');
  const nonce = p.get('SignatureNonce');
  if (
    !signature ||
    !nonce ||
    p.get('SignatureMethod') !== 'HMAC-SHA1' ||
    p.get('SignatureVersion') !== '1.0'
  ) {
    throw protocolErrors.incompleteSignature();
  }
  const row = await loadKey(view, accessKeyId);
  // The key's own checks (spec protocol.md 4, step 5) come before its signature (step 6).
  checkSecurityToken(row, p.get('SecurityToken'), now);
  const stringToSign = v1StringToSign(req.method, p);
  if (!signaturesEqual(v1Sign(row.secret, stringToSign), signature)) {
    throw protocolErrors.signatureDoesNotMatch(stringToSign);
  }
  // The gateway names a missing Timestamp as it names any missing parameter (MissingTimestamp),
  // unlike a V3 request, whose x-acs-date is a required signed header.
  const timestamp = p.get('Timestamp');
  if (!timestamp) throw protocolErrors.missingParameterShort('Timestamp');
  const signedAt = checkClock(settings, timestamp, now);
  return { principal: principalOf(row), nonce, signedAt };
}

async function verifyV3(
  view: CredentialView,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
): Promise<Verified> {
  const auth = parseV3Authorization(req.header('authorization')[0] ?? '');
  if (!auth || auth.algorithm !== V3_ALGORITHM) throw protocolErrors.incompleteSignature();
  const signed = new Set(auth.signedHeaders);
  for (const h of V3_REQUIRED_SIGNED_HEADERS) if (!signed.has(h)) throw protocolErrors.incompleteSignature();
  // What is signed must be what runs. A header sent twice is signed as both values, sorted, while
  // the server reads one of them: which one would then be up to whoever sends it.
  for (const h of V3_READ_HEADERS) if (req.header(h).length > 1) throw protocolErrors.incompleteSignature();
  for (const h of signed) if (req.header(h).length > 1) throw protocolErrors.incompleteSignature();
  const tokenHeader = req.header('x-acs-security-token')[0];
  if (tokenHeader !== undefined && !signed.has('x-acs-security-token'))
    throw protocolErrors.incompleteSignature();
  const contentHash = req.header('x-acs-content-sha256')[0] ?? '';
  if (!/^[0-9a-f]{64}$/.test(contentHash)) throw protocolErrors.incompleteSignature();
  const nonce = req.header('x-acs-signature-nonce')[0];
  if (!nonce) throw protocolErrors.incompleteSignature();

  const row = await loadKey(view, auth.accessKeyId);
  checkSecurityToken(row, tokenHeader, now);
  const canonical = v3CanonicalRequest(
    req.method,
    req.params.query,
    auth.signedHeaders,
    req.header,
    contentHash,
  );
  const stringToSign = v3StringToSign(canonical);
  if (!signaturesEqual(v3Sign(row.secret, stringToSign), auth.signature)) {
    throw protocolErrors.signatureDoesNotMatch(stringToSign);
  }
  // The client signed its own claim about the body; the claim must also be true.
  if (sha256Hex(req.body) !== contentHash) throw protocolErrors.signatureDoesNotMatch(stringToSign);
  // The body's hash is signed, but not how it is read: parameters in a form body count only when
  // the Content-Type that made them parameters was signed too.
  if (req.params.body.length > 0 && !signed.has('content-type')) throw protocolErrors.incompleteSignature();
  const signedAt = checkClock(settings, req.header('x-acs-date')[0], now);
  return { principal: principalOf(row), nonce, signedAt };
}

export async function authenticate(
  src: AuthSources,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
  /** detectScheme(req), when the caller has it already. */
  scheme: SignatureScheme | undefined = detectScheme(req),
  /**
   * Told the id of the request's key as soon as the store has it, so that a request refused
   * after that (a signature that does not match, a disabled key) can be named by it.
   */
  found?: { accessKeyId: string | undefined },
): Promise<AuthResult> {
  if (scheme === undefined) throw protocolErrors.missingAccessKeyId();
  const verify: Verifier = scheme === 'V3' ? verifyV3 : verifyV1;
  let view = src.credentials.cached();
  let verified: Verified;
  let keyRead = false;
  const watched: CredentialView = {
    generation: view.generation,
    policies: view.policies,
    accessKey: async (id) => {
      const row = await view.accessKey(id);
      if (row !== undefined) {
        keyRead = true;
        if (found) found.accessKeyId = id;
      }
      return row;
    },
  };
  try {
    verified = await verify(watched, req, settings, now);
  } catch (err) {
    // A refusal decided on a key row, which may be a stale cached one (a key just activated), must
    // hold for the current rows. Refusals that no row decided (a malformed request, an unknown
    // key) stand as they are, and so does the refusal when the generation cannot be read.
    if (!keyRead) throw err;
    const current = await src.credentials.fresh().catch(() => undefined);
    if (current === undefined || current.generation === view.generation) throw err;
    view = current;
    verified = await verify(view, req, settings, now);
  }
  const { accessKeyId } = verified.principal;
  // A nonce is kept as long as its request's timestamp is accepted: a request dated ahead of the
  // server clock stays acceptable longer than now + the nonce lifetime.
  const answer = settings.checkNonce
    ? await src.nonces.record({
        accessKeyId,
        nonce: verified.nonce,
        now,
        ...(settings.checkTimestamp ? { keepUntil: verified.signedAt + settings.maxSkewMs + 1 } : {}),
      })
    : { fresh: true, ramGeneration: undefined };
  // Without a generation from the batch (nonce check off, or its read failed) it is read here.
  const generation = answer.ramGeneration ?? (await src.credentials.fresh()).generation;
  if (generation !== view.generation) {
    // RAM changed after the rows were cached: decide again on the current ones. The nonce stays
    // recorded either way; a refusal now costs the client that nonce, as any refusal after it would.
    view = src.credentials.observe(generation);
    verified = await verify(view, req, settings, now);
  }
  if (!answer.fresh) throw protocolErrors.nonceUsed();
  return { principal: verified.principal, scheme, credentials: view };
}
