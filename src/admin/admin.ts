/**
 * Admin endpoints for tests and operators (docs/admin.md): health, reset, and control of the
 * asynchronous transitions. Health answers anyone; the rest only callers on loopback or, when an
 * admin token is configured, callers that present it. They never speak the RPC protocol.
 */

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { ConfigError, isLoopbackHost, parseTransitions } from '../config.js';
import { RESOURCE_KINDS } from '../lifecycle/lifecycle.js';

export const ADMIN_PREFIX = '/_vpcmirror/';

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && isLoopbackHost(address.replace(/^::ffff:/, ''));
}

/** The host name of a Host header: `[::1]:8787` → `::1`, `localhost:8787` → `localhost`. */
function hostName(header: string | undefined): string {
  if (!header) return '';
  const bracketed = /^\[([^\]]*)\]/.exec(header);
  return (bracketed ? (bracketed[1] ?? '') : (header.split(':')[0] ?? '')).toLowerCase();
}

/**
 * Why a request looks sent by a web browser for some page, if it does. Without a token, loopback
 * is all that guards these endpoints, and a page the developer opens can make the browser send a
 * POST here (a simple cross-site request needs no CORS consent) or, through a name of its own that
 * resolves to 127.0.0.1, read the answers as same-origin. No tool of ours sends an Origin or a
 * Sec-Fetch-Site other than none (an address typed in the browser), or names the server other
 * than by a loopback name.
 */
function fromBrowserPage(req: IncomingMessage): string | undefined {
  if (req.headers.origin !== undefined) return 'it carries an Origin header';
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'none') return `it was sent for a web page (Sec-Fetch-Site: ${site})`;
  const host = hostName(req.headers.host);
  if (host !== '' && !isLoopbackHost(host) && !host.endsWith('.localhost'))
    return `it names the server as ${host}, not a loopback name or address`;
  return undefined;
}

function tokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const x = Buffer.from(expected);
  const y = Buffer.from(given);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw new ConfigError('admin request body too large');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

/**
 * Tables holding API resources; credentials and policies survive a reset. Filters go first: a
 * Create running meanwhile holds its filter's row and then the session counter's, so a reset takes
 * them in the same order and waits for it instead of deadlocking with it (PostgreSQL). A transition
 * or a source change can still hold rows in another order; PostgreSQL then ends one side and the
 * reset, run as a writing request is, starts again.
 */
const RESOURCE_TABLES = [
  'traffic_mirror_filters',
  'traffic_mirror_filter_rules',
  'traffic_mirror_session_sources',
  'traffic_mirror_sessions',
  'tags',
  'transitions',
  'client_tokens',
  'service_status',
] as const;

/** Every route the switch below answers, for the 405 that names a path's methods. */
const ROUTES = [
  'GET /health',
  'POST /reset',
  'GET /transitions',
  'POST /transitions/advance',
  'POST /transitions/timing',
  'PUT /transitions/timing',
];
const RESOURCE_TYPES: ReadonlySet<string> = new Set(RESOURCE_KINDS);

export async function handleAdmin(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  // HEAD is GET without the body (node leaves the body out itself).
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const route = `${method} ${url.pathname.slice(ADMIN_PREFIX.length - 1)}`;
  // Health says nothing about anyone's resources; load balancers and container checks call it
  // without secrets.
  if (route !== 'GET /health') {
    const auth = req.headers['x-vpcmirror-admin-token'];
    const token = Array.isArray(auth) ? auth[0] : auth;
    const expected = app.config.adminToken;
    // A server reachable from elsewhere may sit behind a proxy on this machine, for which every
    // caller is loopback: there, only a token opens the endpoints that reset or move everyone's
    // resources.
    const exposed = !isLoopbackHost(app.config.host);
    if (expected ? !tokenMatches(expected, token) : exposed || !isLoopback(req.socket.remoteAddress)) {
      json(res, 403, {
        error: expected
          ? 'this server was started with --admin-token: send it in the x-vpcmirror-admin-token header'
          : exposed
            ? `admin endpoints are off on a server listening on ${app.config.host}; start it with --admin-token to use them`
            : 'admin endpoints answer loopback callers only; start the server with --admin-token to let others in',
      });
      return;
    }
    const browser = expected ? undefined : fromBrowserPage(req);
    if (browser) {
      json(res, 403, {
        error: `admin endpoints refuse this request because ${browser}; without --admin-token they answer local tools only`,
      });
      return;
    }
  }
  try {
    switch (route) {
      case 'GET /health':
        json(res, 200, { status: 'ok', store: app.store.dialect });
        return;
      case 'POST /reset': {
        await app.store.largeTransaction(async (tx) => {
          for (const t of RESOURCE_TABLES) await tx.deleteFrom(t).execute();
        });
        app.log.info({ remote: req.socket.remoteAddress }, 'admin reset: every resource deleted');
        json(res, 200, { reset: true });
        return;
      }
      case 'GET /transitions':
        json(res, 200, { timing: app.lifecycle.getTiming(), pending: await app.lifecycle.pending() });
        return;
      case 'POST /transitions/advance': {
        const filter: { resourceType?: string; resourceId?: string } = {};
        const type = url.searchParams.get('resourceType');
        const id = url.searchParams.get('resourceId');
        // PostgreSQL cannot take a NUL in text; no resource type or id holds one.
        if (type?.includes('\u0000') || id?.includes('\u0000'))
          throw new ConfigError('resourceType and resourceId cannot contain a NUL character');
        if (type && !RESOURCE_TYPES.has(type))
          throw new ConfigError(`resourceType is session, filter or rule, got "${type}"`);
        if (type) filter.resourceType = type;
        if (id) filter.resourceId = id;
        json(res, 200, { applied: await app.lifecycle.advance(filter) });
        return;
      }
      case 'PUT /transitions/timing':
      case 'POST /transitions/timing': {
        const body = await readJson(req);
        if (!body || typeof body !== 'object' || Array.isArray(body))
          throw new ConfigError('expected a JSON object');
        const text = Object.entries(body)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',');
        const rescheduled = await app.lifecycle.retime(parseTransitions(text), req.method === 'PUT');
        app.log.info({ timing: app.lifecycle.getTiming(), rescheduled }, 'admin: transition delays changed');
        json(res, 200, { timing: app.lifecycle.getTiming(), rescheduled });
        return;
      }
      default: {
        const path = route.slice(route.indexOf(' ') + 1);
        const methods = ROUTES.filter((r) => r.endsWith(` ${path}`)).map((r) => r.slice(0, r.indexOf(' ')));
        if (methods.length === 0) json(res, 404, { error: `no admin route ${route}` });
        else
          json(
            res,
            405,
            { error: `${path} takes ${methods.join(' or ')}, not ${String(req.method)}` },
            {
              allow: methods.join(', '),
            },
          );
      }
    }
  } catch (e) {
    if (e instanceof ConfigError || e instanceof SyntaxError) json(res, 400, { error: e.message });
    else {
      app.log.error({ err: e }, 'admin request failed');
      json(res, 500, { error: 'internal error' });
    }
  }
}
