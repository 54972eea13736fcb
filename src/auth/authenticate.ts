/**
 * The authentication step of the pipeline (spec protocol.md section 4, steps 3 and 5-8): pick the
 * signature scheme, resolve the AccessKey, verify the signature, then the clock and the nonce.
 * The nonce is recorded only after the signature is valid, so an attacker cannot burn nonces.
 */

import { protocolErrors } from '../protocol/errors.js';
import type { ParsedParams } from '../protocol/params.js';
import type { AccessKeyRow } from '../store/credentials.repo.js';
import type { CredentialView } from './credential-cache.js';
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
}

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

/** Which scheme a request uses, decided before anything is looked up. */
export function detectScheme(req: AuthRequest): SignatureScheme | undefined {
  const auth = req.header('authorization')[0];
  if (auth?.startsWith('ACS3-')) return 'V3';
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
  readonly credentials: CredentialView;
  readonly nonces: NonceRecorder;
}

async function loadKey(src: AuthSources, accessKeyId: string): Promise<AccessKeyRow> {
  const row = await src.credentials.accessKey(accessKeyId);
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

function checkClock(settings: AuthSettings, time: string | undefined, now: number): void {
  const t = parseTimestamp(time);
  if (settings.checkTimestamp && Math.abs(now - t) > settings.maxSkewMs)
    throw protocolErrors.timestampExpired();
}

async function checkNonce(
  src: AuthSources,
  settings: AuthSettings,
  accessKeyId: string,
  nonce: string,
  now: number,
): Promise<void> {
  if (!settings.checkNonce) return;
  if (!(await src.nonces.record({ accessKeyId, nonce, now }))) throw protocolErrors.nonceUsed();
}

async function authenticateV1(
  src: AuthSources,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
): Promise<AuthResult> {
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
  const row = await loadKey(src, accessKeyId);
  const stringToSign = v1StringToSign(req.method, p);
  if (!signaturesEqual(v1Sign(row.secret, stringToSign), signature)) {
    throw protocolErrors.signatureDoesNotMatch(stringToSign);
  }
  checkClock(settings, p.get('Timestamp'), now);
  checkSecurityToken(row, p.get('SecurityToken'), now);
  await checkNonce(src, settings, accessKeyId, nonce, now);
  return { principal: principalOf(row), scheme: 'V1' };
}

async function authenticateV3(
  src: AuthSources,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
): Promise<AuthResult> {
  const auth = parseV3Authorization(req.header('authorization')[0] ?? '');
  if (!auth || auth.algorithm !== V3_ALGORITHM) throw protocolErrors.incompleteSignature();
  const signed = new Set(auth.signedHeaders);
  for (const h of V3_REQUIRED_SIGNED_HEADERS) if (!signed.has(h)) throw protocolErrors.incompleteSignature();
  const tokenHeader = req.header('x-acs-security-token')[0];
  if (tokenHeader !== undefined && !signed.has('x-acs-security-token'))
    throw protocolErrors.incompleteSignature();
  const contentHash = req.header('x-acs-content-sha256')[0] ?? '';
  if (!/^[0-9a-f]{64}$/.test(contentHash)) throw protocolErrors.incompleteSignature();
  const nonce = req.header('x-acs-signature-nonce')[0];
  if (!nonce) throw protocolErrors.incompleteSignature();

  const row = await loadKey(src, auth.accessKeyId);
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
  checkClock(settings, req.header('x-acs-date')[0], now);
  checkSecurityToken(row, tokenHeader, now);
  await checkNonce(src, settings, auth.accessKeyId, nonce, now);
  return { principal: principalOf(row), scheme: 'V3' };
}

export async function authenticate(
  src: AuthSources,
  req: AuthRequest,
  settings: AuthSettings,
  now: number,
): Promise<AuthResult> {
  const scheme = detectScheme(req);
  if (scheme === undefined) throw protocolErrors.missingAccessKeyId();
  return scheme === 'V3' ? authenticateV3(src, req, settings, now) : authenticateV1(src, req, settings, now);
}
