/**
 * Requests the official clients cannot be asked to send are made by capturing one they did send
 * and changing it. A loopback capture server stands in for vpcmirror, records the exact raw request
 * (method, url, headers in order and case, body) and answers a canned 200; the recording is then
 * replayed, as is or mutated, to the real server with node:http. `rawExchange` goes below HTTP for
 * bytes node:http refuses to send. Every network wait here has a timeout.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegisteredOperation } from '../../src/api/operation.js';
import { PageTokens } from '../../src/api/page-tokens.js';
import type { App } from '../../src/app.js';
import type { AuthRequest } from '../../src/auth/authenticate.js';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import { NonceBatcher } from '../../src/auth/nonce-batcher.js';
import { type PipelineDeps, runPipeline } from '../../src/pipeline.js';
import { parseParams } from '../../src/protocol/params.js';
import { listen, type RunningServer } from '../../src/server.js';
import { writesFor } from '../../src/store/group-commit.js';
import { type ClientMode, callVia } from './clients.js';
import type { TestServer } from './server.js';

export interface RawRequest {
  readonly method: string;
  /** Path and raw query exactly as sent. */
  readonly url: string;
  /** Raw name/value pairs in the order and case received. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

export interface CaptureServer {
  readonly endpoint: string;
  readonly port: number;
  /** Everything received since start (or since the last `take`). */
  readonly requests: RawRequest[];
  close(): Promise<void>;
}

export const CANNED_REQUEST_ID = 'C0FFEE00-0000-4000-8000-000000000000';

export async function startCapture(): Promise<CaptureServer> {
  const requests: RawRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
        headers.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers, body: Buffer.concat(chunks) });
      const body = JSON.stringify({ RequestId: CANNED_REQUEST_ID });
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8', connection: 'close' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface Keys {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
}

/** Has an official client sign and send one call to the capture server; returns what it sent. */
export async function captureCall(
  capture: CaptureServer,
  mode: ClientMode,
  keys: Keys,
  action: string,
  params: Record<string, unknown>,
): Promise<RawRequest> {
  capture.requests.length = 0;
  await callVia(
    mode,
    { accessKeyId: keys.accessKeyId, accessKeySecret: keys.accessKeySecret, endpoint: capture.endpoint },
    action,
    params,
  );
  const [only, ...more] = capture.requests;
  if (!only || more.length > 0)
    throw new Error(`expected one captured request, got ${capture.requests.length}`);
  capture.requests.length = 0;
  return only;
}

// ---- reading and changing a raw request ----

export function headerOf(r: RawRequest, name: string): string | undefined {
  const n = name.toLowerCase();
  return r.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

export function withHeader(r: RawRequest, name: string, value: string): RawRequest {
  const n = name.toLowerCase();
  const found = r.headers.some(([k]) => k.toLowerCase() === n);
  const headers = found
    ? r.headers.map(([k, v]): readonly [string, string] => (k.toLowerCase() === n ? [k, value] : [k, v]))
    : [...r.headers, [name, value] as const];
  return { ...r, headers };
}

export function withoutHeader(r: RawRequest, name: string): RawRequest {
  const n = name.toLowerCase();
  return { ...r, headers: r.headers.filter(([k]) => k.toLowerCase() !== n) };
}

/** Strict RFC 3986 encoding, as the signatures use it. */
export function enc(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function setPair(raw: string, name: string, value: string | undefined): string {
  const parts = raw === '' ? [] : raw.split('&');
  let found = false;
  const out: string[] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? p : p.slice(0, eq)).replace(/\+/g, ' '));
    if (key !== name) out.push(p);
    else if (!found && value !== undefined) {
      out.push(`${enc(name)}=${enc(value)}`);
      found = true;
    } else found = true;
  }
  if (!found && value !== undefined) out.push(`${enc(name)}=${enc(value)}`);
  return out.join('&');
}

export function queryOf(r: RawRequest): string {
  const q = r.url.indexOf('?');
  return q < 0 ? '' : r.url.slice(q + 1);
}

/** Sets (or with `undefined` removes) one query parameter, leaving the others' raw text alone. */
export function withQueryParam(r: RawRequest, name: string, value: string | undefined): RawRequest {
  const q = r.url.indexOf('?');
  const path = q < 0 ? r.url : r.url.slice(0, q);
  const query = setPair(queryOf(r), name, value);
  return { ...r, url: query === '' ? path : `${path}?${query}` };
}

/** Sets (or removes) one parameter of an x-www-form-urlencoded body. */
export function withBodyParam(r: RawRequest, name: string, value: string | undefined): RawRequest {
  return { ...r, body: Buffer.from(setPair(r.body.toString('latin1'), name, value), 'latin1') };
}

export function withBody(r: RawRequest, body: string | Buffer, contentType?: string): RawRequest {
  const next = { ...r, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body };
  return contentType === undefined ? next : withHeader(next, 'content-type', contentType);
}

/** The decoded parameters of the query and of a form body, as the signer saw them. */
export function paramsOf(r: RawRequest): Map<string, string> {
  const out = new Map<string, string>();
  const add = (raw: string) => {
    for (const p of raw.split('&')) {
      if (p === '') continue;
      const eq = p.indexOf('=');
      const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      out.set(dec(eq < 0 ? p : p.slice(0, eq)), dec(eq < 0 ? '' : p.slice(eq + 1)));
    }
  };
  add(queryOf(r));
  if ((headerOf(r, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
    add(r.body.toString('utf8'));
  return out;
}

// ---- sending ----

const HOP_BY_HOP = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding']);

/**
 * A recorded request as the bytes of one HTTP/1.1 request, with the recorded Host (it is signed)
 * and header order, the body's Content-Length and the Connection given: for exchanges node:http
 * cannot make, such as pipelining something after it.
 */
export function wireBytes(r: RawRequest, connection: 'keep-alive' | 'close'): Buffer {
  const lines = [`${r.method} ${r.url} HTTP/1.1`];
  for (const [k, v] of r.headers) if (!HOP_BY_HOP.has(k.toLowerCase())) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${r.body.length}`, `Connection: ${connection}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), r.body]);
}

/**
 * Sends a raw request to `port` with node:http, keeping the recorded Host header (it is signed)
 * and the header order; Content-Length follows the body actually sent.
 */
export function replay(port: number, r: RawRequest, timeoutMs = 5000): Promise<RawResponse> {
  const flat: string[] = [];
  for (const [k, v] of r.headers) if (!HOP_BY_HOP.has(k.toLowerCase())) flat.push(k, v);
  const hadLength = r.headers.some(([k]) => k.toLowerCase() === 'content-length');
  if (hadLength || r.body.length > 0) flat.push('Content-Length', String(r.body.length));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.url,
        headers: flat,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            headers[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
          resolve({ status: res.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

export interface RawExchange {
  /** undefined when the server closed the connection without an HTTP answer. */
  readonly status: number | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** What came back, byte for byte. */
  readonly raw: Buffer;
}

/**
 * Writes bytes to a TCP connection and reads one HTTP/1.1 answer (by Content-Length), or whatever
 * arrives before the server closes. Rejects only on timeout: the point is to see hangs.
 */
export function rawExchange(
  port: number,
  data: Buffer | string | ReadonlyArray<Buffer | string>,
  timeoutMs = 5000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (force: boolean) => {
      if (settled) return;
      const head = received.indexOf('\r\n\r\n');
      if (head < 0 && !force) return;
      const headText = received.subarray(0, head < 0 ? received.length : head).toString('latin1');
      const lines = headText.split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const c = line.indexOf(':');
        if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
      }
      const body = head < 0 ? Buffer.alloc(0) : received.subarray(head + 4);
      const length = Number(headers['content-length'] ?? Number.NaN);
      if (!force && (!Number.isFinite(length) || body.length < length)) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: m ? Number(m[1]) : undefined,
        headers,
        text: (Number.isFinite(length) ? body.subarray(0, length) : body).toString('utf8'),
        raw: received,
      });
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(
        new Error(
          `no complete answer within ${timeoutMs} ms; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`,
        ),
      );
    }, timeoutMs);
    socket.on('data', (c: Buffer) => {
      received = Buffer.concat([received, c]);
      finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    // The server may answer and close before reading everything; that is not a failure here.
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      const parts = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data;
      for (const p of parts) if (!socket.destroyed) socket.write(p);
    });
  });
}

// ---- the captured vectors ----

export interface Vector {
  readonly id: string;
  readonly credentials: Keys;
  readonly request: RawRequest;
  readonly expected: {
    readonly signatureScheme: string;
    readonly signature: string;
    readonly apiParams: Readonly<Record<string, string>>;
    readonly derived: Readonly<Record<string, string>>;
  };
}

export const VECTORS_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'vectors');

interface VectorFile {
  id: string;
  credentials: Keys;
  request: { method: string; url: string; headers: Array<[string, string]>; body: string };
  expected: Vector['expected'];
}

/** A captured request as authenticate() reads it, headers looked up by lower-case name. */
export function authRequestOf(r: RawRequest): AuthRequest {
  const headers = new Map<string, string[]>();
  for (const [k, v] of r.headers) {
    const n = k.toLowerCase();
    headers.set(n, [...(headers.get(n) ?? []), v]);
  }
  return {
    method: r.method,
    header: (name) => headers.get(name) ?? [],
    params: parseParams(queryOf(r), r.body, headerOf(r, 'content-type')),
    body: r.body,
  };
}

/** The signed requests captured from the official clients (test/fixtures/vectors). */
export function loadVectors(): Vector[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const v = JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8')) as VectorFile;
      return {
        id: v.id,
        credentials: v.credentials,
        request: {
          method: v.request.method,
          url: v.request.url,
          headers: v.request.headers.map(([k, val]) => [k, val] as const),
          body: Buffer.from(v.request.body, 'utf8'),
        },
        expected: v.expected,
      };
    });
}

// ---- a test-built app: the real pipeline with extra operations or another clock ----

/**
 * Listens on a second loopback port with the real pipeline of `server` (same store, config and
 * logger), plus `operations` (which replace same-named ones) and an optional clock. Tests use it to
 * reach states no real operation produces: a handler that throws, one that echoes its input.
 */
export async function listenWith(
  server: TestServer,
  options: { operations?: readonly RegisteredOperation[]; clock?: () => number } = {},
): Promise<RunningServer> {
  const { app } = server;
  const { config } = app;
  const operations = new Map(app.operations);
  for (const op of options.operations ?? []) operations.set(op.action, op);
  const deps: PipelineDeps = {
    db: server.store.db,
    freshReads: server.store.freshReads,
    writes: writesFor(server.store.db, server.store.dialect),
    nodeId: app.nodeId,
    operations,
    services: {
      lifecycle: app.lifecycle,
      limits: config.limits,
      regions: config.regions,
      pageTokens: new PageTokens(),
    },
    auth: {
      maxSkewMs: config.maxSkewMs,
      checkTimestamp: config.checkTimestamp,
      checkNonce: config.checkNonce,
    },
    credentials: new CredentialCache(server.store.db),
    nonces: NonceBatcher.onStore(server.store.db, config.nonceTtlMs),
    regions: new Set(config.regions),
    ramEnforced: config.ramEnforced,
    hostId: config.hostId,
    clientTokenTtlMs: config.clientTokenTtlMs,
    clock: options.clock ?? Date.now,
    onInternalError: (err, requestId) => app.log.error({ err, requestId }, 'internal error'),
    onStoreUnavailable: (err, requestId) =>
      app.log.warn({ err, requestId }, 'the store failed for now; answered ServiceUnavailable'),
  };
  const built: App = { ...app, handle: (req) => runPipeline(deps, req) };
  return listen(built, '127.0.0.1', 0);
}

// ---- what every answer must look like (spec protocol.md 7) ----

export const REQUEST_ID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
const ERROR_KEYS = ['Code', 'HostId', 'Message', 'Recommend', 'RequestId'];

/** Asserts the JSON error envelope with this status and code; returns the body. */
export function expectError(res: RawResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(res.status, status, `HTTP status for ${code}: ${res.text}`);
  assert.equal(res.headers['content-type'], 'application/json;charset=utf-8');
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.equal(body.Code, code, res.text);
  assert.deepEqual(
    Object.keys(body)
      .filter((k) => k !== 'AccessDeniedDetail')
      .sort(),
    ERROR_KEYS,
  );
  assert.match(String(body.RequestId), REQUEST_ID);
  assert.equal(res.headers['x-acs-request-id'], body.RequestId);
  assert.equal(body.HostId, 'vpc.aliyuncs.com');
  assert.ok(typeof body.Message === 'string' && body.Message.length > 0);
  const recommend = String(body.Recommend);
  assert.ok(recommend.startsWith('https://'), recommend);
  assert.ok(recommend.includes(encodeURIComponent(code)) && recommend.includes(String(body.RequestId)));
  return body;
}

/** Asserts a JSON success: 200, a fresh upper-case RequestId, no top-level Code; returns the body. */
export function expectSuccess(res: RawResponse): Record<string, unknown> {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['content-type'], 'application/json;charset=utf-8');
  const body = JSON.parse(res.text) as Record<string, unknown>;
  assert.match(String(body.RequestId), REQUEST_ID);
  assert.notEqual(body.RequestId, CANNED_REQUEST_ID);
  assert.equal('Code' in body, false, res.text);
  return body;
}
