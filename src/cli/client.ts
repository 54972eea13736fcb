/**
 * A small signed RPC client for the CLI (`vpcmirror call`, `--wait` polling, the benchmark's
 * request builder). Tests of the server never use it to prove the verifier right: they use the
 * official SDKs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  canonicalQuery,
  EMPTY_SHA256,
  v1Sign,
  v1StringToSign,
  v3CanonicalRequest,
  v3Sign,
  v3StringToSign,
} from '../auth/signature.js';
import { pct } from '../protocol/encoding.js';
import type { RpcRequest } from '../protocol/request.js';

export interface ClientOptions {
  /** `host:port`, `http://host:port`, or `https://host:port` for a server serving TLS. */
  readonly endpoint: string;
  /** Every certificate (PEM) to trust for an https endpoint (trustingAlso); absent: Node's defaults. */
  readonly ca?: readonly (string | Buffer)[] | undefined;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
  readonly signature?: 'v1' | 'v3';
  readonly method?: 'GET' | 'POST';
}

export interface SignedRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A signed request as the pipeline takes it, for calling an app in-process (benchmarks, tests). */
export function asRpcRequest(r: SignedRequest): RpcRequest {
  return {
    method: r.method,
    url: r.path,
    header: (name) => {
      const v = r.headers[name];
      return v === undefined ? [] : [v];
    },
    body: Buffer.from(r.body),
    remoteAddress: '127.0.0.1',
    secure: false,
  };
}

export interface CallResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A call that got no usable answer: said in one line, exit 1 (not a usage mistake, not a crash). */
export class CallFailed extends Error {}

export function hostOf(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function signRequest(
  opts: ClientOptions,
  action: string,
  params: Readonly<Record<string, string>>,
  now: Date = new Date(),
): SignedRequest {
  const host = hostOf(opts.endpoint);
  const method = opts.method ?? 'POST';
  if ((opts.signature ?? 'v3') === 'v1') {
    const all = new Map<string, string>(Object.entries(params));
    all.set('Action', action);
    all.set('Version', '2016-04-28');
    all.set('Format', 'JSON');
    all.set('AccessKeyId', opts.accessKeyId);
    all.set('SignatureMethod', 'HMAC-SHA1');
    all.set('SignatureVersion', '1.0');
    all.set('SignatureNonce', randomUUID());
    all.set('Timestamp', timestamp(now));
    if (opts.securityToken) all.set('SecurityToken', opts.securityToken);
    all.set('Signature', v1Sign(opts.accessKeySecret, v1StringToSign(method, all)));
    const query = canonicalQuery([...all]);
    return method === 'GET'
      ? { method, path: `/?${query}`, headers: { host }, body: '' }
      : {
          method,
          path: '/',
          headers: { host, 'content-type': 'application/x-www-form-urlencoded' },
          body: query,
        };
  }
  const headers: Record<string, string> = {
    host,
    'x-acs-action': action,
    'x-acs-version': '2016-04-28',
    'x-acs-date': timestamp(now),
    'x-acs-signature-nonce': randomBytes(32).toString('hex'),
    'x-acs-content-sha256': EMPTY_SHA256,
  };
  if (opts.securityToken) headers['x-acs-security-token'] = opts.securityToken;
  const signed = Object.keys(headers).sort();
  const pairs = Object.entries(params);
  const canonical = v3CanonicalRequest(
    method,
    pairs,
    signed,
    (n) => (headers[n] === undefined ? [] : [headers[n] ?? '']),
    EMPTY_SHA256,
  );
  const signature = v3Sign(opts.accessKeySecret, v3StringToSign(canonical));
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${opts.accessKeyId},SignedHeaders=${signed.join(';')},Signature=${signature}`;
  const query = pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
  return { method, path: query ? `/?${query}` : '/', headers, body: '' };
}

/**
 * What Node trusts by default (its bundled roots and NODE_EXTRA_CA_CERTS), and `cert` too: given any
 * `ca`, Node trusts only those, so the defaults have to come along.
 */
export function trustingAlso(cert: Buffer): (string | Buffer)[] {
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  let extra: Buffer[] = [];
  try {
    if (extraFile) extra = [readFileSync(extraFile)];
  } catch {
    // Node itself goes on without an unreadable NODE_EXTRA_CA_CERTS.
  }
  return [...rootCertificates, ...extra, cert];
}

export function send(
  endpoint: string,
  req: SignedRequest,
  timeoutMs = 30_000,
  ca?: readonly (string | Buffer)[],
): Promise<CallResult> {
  const tls = endpoint.startsWith('https://');
  const host = hostOf(endpoint);
  const colon = host.lastIndexOf(':');
  const bracket = host.lastIndexOf(']');
  const hasPort = colon > 0 && colon > bracket;
  const hostname = (hasPort ? host.slice(0, colon) : host).replace(/^\[|\]$/g, '');
  const port = hasPort ? Number(host.slice(colon + 1)) : tls ? 443 : 80;
  return new Promise((resolve, reject) => {
    const r = (tls ? httpsRequest : request)(
      {
        hostname,
        port,
        method: req.method,
        path: req.path,
        headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) },
        timeout: timeoutMs,
        ...(tls && ca !== undefined ? { ca: [...ca] } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch {
            reject(
              new CallFailed(
                `HTTP ${res.statusCode}: the answer is not JSON, so that is not a vpcmirror or Alibaba Cloud endpoint: ${text.slice(0, 200)}`,
              ),
            );
          }
        });
      },
    );
    r.on('timeout', () =>
      r.destroy(new CallFailed(`no answer within ${timeoutMs / 1000} s from ${endpoint}`)),
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

export async function call(
  opts: ClientOptions,
  action: string,
  params: Readonly<Record<string, string>>,
  timeoutMs?: number,
): Promise<CallResult> {
  return send(opts.endpoint, signRequest(opts, action, params), timeoutMs, opts.ca);
}
