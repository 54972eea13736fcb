/**
 * The node:http adapter (node:https when given a certificate): reads the body under a size limit,
 * hands a transport-neutral request to the pipeline, writes the answer and one access-log line.
 * Admin routes live under /_vpcmirror/.
 * Shutdown stops accepting, lets in-flight requests finish, then stops background work.
 */

import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ADMIN_PREFIX, handleAdmin } from './admin/admin.js';
import type { App } from './app.js';
import type { Principal } from './auth/principal.js';
import { accessLogger } from './logger.js';
import type { CallRecord } from './pipeline.js';
import type { ApiError } from './protocol/api-error.js';
import { pct } from './protocol/encoding.js';
import { protocolErrors } from './protocol/errors.js';
import type { RpcRequest } from './protocol/request.js';
import { errorResponse, type WireResponse } from './protocol/serialize.js';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}
class MissingHost extends Error {}

/**
 * The request line and headers may hold this much. The official clients put every parameter in the
 * URL (V3, and V1 by GET): the largest request the API allows, 20 tags of 128 CJK characters
 * (9 bytes each once percent-encoded) with full names and 20 rules, is about 58 KiB. Node's
 * default, 16 KiB, refused it.
 */
export const MAX_HEADER_BYTES = 96 * 1024;

/**
 * A value a client chose, as the access log repeats it: a real action or key id is far shorter,
 * and an 8 KB one must not make an 8 KB line.
 */
function clipped(value: string | undefined): string | undefined {
  return value === undefined || value.length <= 128 ? value : `${value.slice(0, 128)}…`;
}

/** At most this many parameters on a debug line: a request may carry 2,000. */
const DEBUG_PARAMS = 100;

/** Parameters whose value is never shown, whatever the case of their name. */
const SECRET_NAME = /secret|token|password|^signature$/i;

/** A value of a secret shown nowhere on the line, in the forms a message may repeat it in. */
function hidden(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // Short values ("1", "true") would blank out half the line and hide nothing worth hiding.
    if (secret.length < 6) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), pct(secret), pct(pct(secret))]))
      out = out.split(form).join('***');
  }
  return out;
}

/**
 * A request's debug line: its parameters and the error's message. A parameter named like a
 * secret (`SecurityToken`, `Signature`, `AccessKeySecret`, in any case) shows `***`, and its value
 * is also taken out of the message, which may repeat it (a V1 SignatureDoesNotMatch quotes the
 * string to sign, the security token in it). An AccessKeyId, in any case, shows as the access line
 * shows it: an unknown one may be a secret pasted in its place.
 */
function detailForLog(record: CallRecord): { params?: Record<string, string>; message?: string } {
  const params = record.params;
  const secrets: string[] = [];
  let shown: Record<string, string> | undefined;
  if (params !== undefined) {
    // No prototype: a parameter may be named __proto__.
    shown = Object.create(null) as Record<string, string>;
    let count = 0;
    for (const [name, value] of [...params.query, ...params.body]) {
      const secret = SECRET_NAME.test(name);
      // A V1 string to sign quotes every parameter: an AccessKeyId under another case of its name
      // (not the key that signed) is shown only by its start, and must not be there whole either.
      const keyLike = name !== 'AccessKeyId' && name.toLowerCase() === 'accesskeyid';
      if (secret || keyLike) secrets.push(value);
      if (name === 'Signature') continue;
      count++;
      if (count > DEBUG_PARAMS) continue;
      shown[clipped(name) ?? name] = secret
        ? '***'
        : name === 'AccessKeyId'
          ? (record.accessKeyId ?? '')
          : keyLike
            ? `${value.slice(0, 4)}…`
            : (clipped(value) ?? '');
    }
    if (count > DEBUG_PARAMS) shown['…'] = `${count - DEBUG_PARAMS} more`;
  }
  return {
    ...(shown === undefined ? {} : { params: shown }),
    ...(record.message === undefined ? {} : { message: hidden(record.message, secrets) }),
  };
}

/** `account:<id>`, `user:<name>` or `role:<name>`: who a verified key is, for the access line. */
function principalLabel(p: Principal | undefined): string | undefined {
  if (p === undefined) return undefined;
  if (p.type === 'SubUser') return `user:${p.userName ?? p.name}`;
  if (p.type === 'AssumedRoleUser') return `role:${p.roleName ?? p.name}`;
  return `account:${p.accountId}`;
}

/** Answers that never reach the pipeline still carry a RequestId of the usual form. */
function newRequestId(): string {
  return randomUUID().toUpperCase();
}

/** An error envelope written straight to a socket, for requests node:http could not parse. */
function rawErrorResponse(err: ApiError, requestId: string, hostId: string): string {
  const r = errorResponse(err, 'JSON', requestId, hostId);
  const head = [`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}`];
  for (const [k, v] of Object.entries(r.headers)) head.push(`${k}: ${v}`);
  head.push(`content-length: ${Buffer.byteLength(r.body)}`, 'connection: close');
  return `${head.join('\r\n')}\r\n\r\n${r.body}`;
}

/** What a node:http parser error means on the wire. */
function clientErrorOf(code: string | undefined): ApiError {
  if (code === 'HPE_INVALID_METHOD') return protocolErrors.unsupportedHttpMethod();
  if (code === 'HPE_HEADER_OVERFLOW') return protocolErrors.requestMalformed('request headers are too large');
  return protocolErrors.requestMalformed('request is not valid HTTP/1.1');
}

const NO_BODY = Buffer.alloc(0);

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Without Content-Length or Transfer-Encoding an HTTP/1.1 request has no body (RFC 9112 6.3), and
  // the SDKs' V3 calls carry everything in the query: nothing to wait for.
  const length = req.headers['content-length'];
  if ((length === undefined || length === '0') && req.headers['transfer-encoding'] === undefined)
    return Promise.resolve(NO_BODY);
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
    // A client that goes away mid-body ends neither with 'end' nor always with 'error'.
    req.on('close', () => {
      if (!req.complete) reject(new Error('connection closed before the body was complete'));
    });
  });
}

function send(res: ServerResponse, r: WireResponse, close = false): void {
  const headers: Record<string, string | number> = {
    ...r.headers,
    'content-length': Buffer.byteLength(r.body),
  };
  if (close) headers.connection = 'close';
  res.writeHead(r.status, headers);
  res.end(r.body);
}

/** The peer's address; an IPv4 client of a dual-stack listener without its `::ffff:` prefix. */
function clientAddress(socket: Socket): string {
  return (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function rpcRequest(req: IncomingMessage, body: Buffer, secure: boolean): RpcRequest {
  const distinct = req.headersDistinct;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    header: (name) => distinct[name] ?? [],
    body,
    remoteAddress: clientAddress(req.socket),
    // What acs:SecureTransport reads: the request came over TLS.
    secure,
  };
}

/** How long a connection may stay after its refusal was written: time enough to read it. */
const REFUSED_LINGER_MS = 5_000;

/** How long a shutdown waits for in-flight requests before it cuts the remaining connections. */
const DRAIN_GRACE_MS = 10_000;

/**
 * How long a shutdown then waits for requests whose connections it cut (or whose clients left) to
 * finish with the store: the store closes, and a node's id is given up, only after them.
 */
const HANDLER_GRACE_MS = 10_000;

export function listen(app: App, host: string, port: number): Promise<RunningServer> {
  const { log, config } = app;
  const access = accessLogger(log);
  // The level is fixed for the life of the server: asked once, not per request.
  const debug = access.isLevelEnabled('debug');
  const refuseSocket = (socket: Socket, err: ApiError, reason: string | undefined): void => {
    const requestId = newRequestId();
    // A peer that resets the connection meanwhile is an 'error' on the socket: node keeps its own
    // listener on it only up to 'clientError', and not at all for CONNECT, where an unheard error
    // would end the process.
    socket.on('error', () => socket.destroy());
    // The answer, then our end of the connection. A client that keeps its own end open would
    // otherwise hold the socket, and a shutdown (node counts a CONNECT socket as no HTTP
    // connection, so nothing closes it), for as long as it likes.
    socket.setTimeout(REFUSED_LINGER_MS, () => socket.destroy());
    socket.end(rawErrorResponse(err, requestId, config.hostId));
    access.info(
      {
        requestId,
        action: undefined,
        accessKeyId: undefined,
        code: err.code,
        status: err.httpStatus,
        latencyMs: 0,
        remoteAddress: clientAddress(socket),
        reason,
      },
      'unparseable request refused',
    );
  };
  // Once closing, every answer says `connection: close`: a keep-alive client would otherwise hold
  // its idle connection, and with it the shutdown, until keepAliveTimeout.
  let closing = false;
  // Host is checked below instead of by node, so that its absence gets the JSON envelope too.
  const httpOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    keepAliveTimeout: 65_000,
    requestTimeout: 30_000,
    headersTimeout: 20_000,
    requireHostHeader: false,
  };
  const secure = config.tls !== undefined;
  // Sockets whose unparseable bytes have had their answer, or wait for the answer before them.
  const refused = new WeakSet<Socket>();
  // Requests whose handler has not returned, whether or not their connection is still there.
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  let shutdown: Promise<void> | undefined;
  const ended = (): void => {
    inFlight--;
    if (inFlight === 0) onIdle?.();
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    inFlight++;
    void handle(req, res, started).then(ended, (err: unknown) => {
      ended();
      const requestId = newRequestId();
      log.error({ err, requestId }, 'request handling failed');
      if (!res.headersSent)
        send(res, errorResponse(protocolErrors.internalError(), 'JSON', requestId, config.hostId), true);
      else res.destroy();
    });
  };
  const handle = async (req: IncomingMessage, res: ServerResponse, started: bigint): Promise<void> => {
    if (req.url?.startsWith(ADMIN_PREFIX)) {
      await handleAdmin(app, req, res);
      return;
    }
    let body: Buffer;
    try {
      if (req.httpVersion === '1.1' && req.headers.host === undefined) throw new MissingHost();
      body = await readBody(req, config.bodyLimitBytes);
    } catch (e) {
      // Its broken bytes were refused, and logged, as unparseable HTTP (clientError below).
      if (refused.has(req.socket)) return;
      const requestId = newRequestId();
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (res.destroyed || !req.socket.writable) {
        access.info(
          { requestId, latencyMs, remoteAddress: clientAddress(req.socket) },
          'the client went away before its request was complete',
        );
        return;
      }
      const err =
        e instanceof BodyTooLarge
          ? protocolErrors.requestMalformed(`request body exceeds ${config.bodyLimitBytes} bytes`)
          : e instanceof MissingHost
            ? protocolErrors.requestMalformed('request has no Host header')
            : protocolErrors.requestMalformed('request body could not be read');
      send(res, errorResponse(err, 'JSON', requestId, config.hostId), true);
      access.info(
        {
          requestId,
          action: undefined,
          accessKeyId: undefined,
          code: err.code,
          status: err.httpStatus,
          latencyMs,
          remoteAddress: clientAddress(req.socket),
        },
        'request refused before parsing',
      );
      return;
    }
    const rpc = rpcRequest(req, body, secure);
    const { response, record } = await app.handle(rpc);
    send(res, response, closing);
    access.info(
      {
        requestId: record.requestId,
        action: clipped(record.action),
        accessKeyId: clipped(record.accessKeyId),
        principal: principalLabel(record.principal),
        code: record.code ?? 'OK',
        status: response.status,
        latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
        remoteAddress: rpc.remoteAddress,
      },
      'request',
    );
    if (debug)
      access.debug(
        { requestId: record.requestId, method: rpc.method, ...detailForLog(record) },
        'request detail',
      );
  };
  const server: Server = config.tls
    ? createHttpsServer({ ...httpOptions, cert: config.tls.cert, key: config.tls.key }, handler)
    : createServer(httpOptions, handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Unparseable HTTP (bad request line or framing, unknown method, oversized headers): the
    // usual JSON envelope, then close. The parser reports every later chunk again: one answer.
    if (refused.has(socket)) return;
    const running = () => (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    // A client that reset the connection reads no answer; a request of it whose body was still
    // being read is logged as gone by the handler.
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    refused.add(socket);
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // About the request running itself, which waits for a body that is not coming.
      socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      access.info(
        { status: 408, reason: err.code, remoteAddress: clientAddress(socket) },
        'request timed out before it was complete',
      );
      return;
    }
    // Bytes that do not parse after requests still running (pipelined, or past a body): those run
    // on and their answers go out first (node hands the socket to the next one as each finishes),
    // or the client would read this refusal as the answer to a call that was carried out, or in
    // the middle of one. Bytes that break a request's own body, before its answer began, are that
    // request's answer, at once: it waits for them.
    const refuseWhenAnswered = (): void => {
      const pending = running();
      if (pending && !pending.writableFinished && (pending.req.complete || pending.headersSent))
        pending.once('finish', refuseWhenAnswered);
      else if (socket.writable) refuseSocket(socket, clientErrorOf(err.code), err.code);
    };
    refuseWhenAnswered();
  });
  // Expect: 100-continue asks whether to send the body: not when it is declared too large (the
  // refusal comes at once instead of after the upload). Any other expectation is ignored rather
  // than answered with node's bare 417.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (Number(req.headers['content-length'] ?? '0') <= config.bodyLimitBytes) res.writeContinue();
    handler(req, res);
  });
  server.on('checkExpectation', handler);
  // CONNECT never reaches the request handler; without this node drops the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    refuseSocket(socket, protocolErrors.unsupportedHttpMethod(), 'CONNECT');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        server,
        port: addr.port,
        host: addr.address,
        url: `${secure ? 'https' : 'http'}://${shownHost}:${addr.port}`,
        // The same promise for every caller: a second close neither waits on its own nor takes
        // the first one's wait for the requests over.
        close: () => {
          shutdown ??= new Promise<void>((done) => {
            closing = true;
            const grace = setTimeout(() => server.closeAllConnections(), DRAIN_GRACE_MS);
            grace.unref();
            server.close(() => {
              clearTimeout(grace);
              if (inFlight === 0) {
                done();
                return;
              }
              // Not unref'd: a request waiting on a promise alone (the file lock of another store
              // of this process) holds no handle, and the process must not end before the store closes.
              const cut = setTimeout(() => {
                log.warn({ inFlight }, 'requests still running at shutdown; closing the store under them');
                done();
              }, HANDLER_GRACE_MS);
              onIdle = () => {
                clearTimeout(cut);
                done();
              };
            });
            server.closeIdleConnections();
          });
          return shutdown;
        },
      });
    });
  });
}
