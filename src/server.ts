/**
 * The node:http adapter: reads the body under a size limit, hands a transport-neutral request to
 * the pipeline, writes the answer and one access-log line. Admin routes live under /_vpcmirror/.
 * Shutdown stops accepting, lets in-flight requests finish, then stops background work.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_PREFIX, handleAdmin } from './admin/admin.js';
import type { App } from './app.js';
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

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
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

function rpcRequest(req: IncomingMessage, body: Buffer): RpcRequest {
  const distinct = req.headersDistinct;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    header: (name) => distinct[name] ?? [],
    body,
    remoteAddress: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    secure: false,
  };
}

export function listen(app: App, host: string, port: number): Promise<RunningServer> {
  const { log, config } = app;
  const server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 30_000, headersTimeout: 20_000 },
    (req, res) => {
      const started = process.hrtime.bigint();
      void (async () => {
        if (req.url?.startsWith(ADMIN_PREFIX)) {
          await handleAdmin(app, req, res);
          return;
        }
        let body: Buffer;
        try {
          body = await readBody(req, config.bodyLimitBytes);
        } catch (e) {
          const err =
            e instanceof BodyTooLarge
              ? protocolErrors.requestMalformed(`request body exceeds ${config.bodyLimitBytes} bytes`)
              : protocolErrors.requestMalformed('request body could not be read');
          send(res, errorResponse(err, 'JSON', 'NONE', config.hostId), true);
          log.info({ code: err.code, status: err.httpStatus }, 'request refused before parsing');
          return;
        }
        const { response, record } = await app.handle(rpcRequest(req, body));
        send(res, response);
        log.info(
          {
            requestId: record.requestId,
            action: record.action,
            accessKeyId: record.accessKeyId,
            code: record.code ?? 'OK',
            status: response.status,
            latencyMs: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'request',
        );
      })().catch((err: unknown) => {
        log.error({ err }, 'request handling failed');
        if (!res.headersSent)
          send(res, errorResponse(protocolErrors.internalError(), 'JSON', 'NONE', config.hostId), true);
        else res.destroy();
      });
    },
  );
  server.on('clientError', (err, socket) => {
    // Unparseable HTTP (bad request line, oversized headers): answer 400 and close.
    if (socket.writable) {
      const code = (err as NodeJS.ErrnoException).code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      socket.end(`HTTP/1.1 ${code} Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else socket.destroy();
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
        url: `http://${shownHost}:${addr.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
