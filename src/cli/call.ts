/**
 * `vpcmirror call <Action> --Param value …`: sign a request, print the JSON answer, exit non-zero
 * on an error answer. `--wait` then polls the List operation until the resource is ready or gone,
 * with a live status line on a terminal and plain lines otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quoted } from '../accounts/accounts.service.js';
import { readCredentialsFile } from '../accounts/bootstrap.js';
import { DEFAULT_DATA_DIR } from '../config.js';
import { VERSION } from '../version.js';
import { type ClientOptions, call, trustingAlso } from './client.js';
import { actionAdvice, nearest, parameterAdvice } from './names.js';

const OWN_FLAGS = new Set([
  'endpoint',
  'access-key-id',
  'access-key-secret',
  'security-token',
  'signature',
  'method',
  'data-dir',
  'wait',
  'timeout',
  'interval',
  'ca',
]);

export interface ParsedCall {
  action: string;
  params: Record<string, string>;
  flags: Record<string, string | true>;
}

export function parseCallArgs(argv: readonly string[]): ParsedCall {
  const usage = 'usage: vpcmirror call <Action> [--Param value …] [--wait]';
  let action: string | undefined;
  const params: Record<string, string> = {};
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') {
      flags.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      // The action is the one bare word; flags may come before or after it.
      if (action !== undefined || arg.startsWith('-') || arg === '') {
        throw new UsageError(`unexpected argument "${arg}": parameters are written --Name value`);
      }
      action = arg;
      continue;
    }
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (name === 'wait' || name === 'help' || name === 'version') {
      flags[name] = true;
      continue;
    }
    if (!OWN_FLAGS.has(name) && /^[a-z]/.test(name)) {
      // The API's parameters are all written with a capital; a lower-case name is a flag of ours.
      const near = nearest(name, [...OWN_FLAGS, 'wait', 'help', 'version']);
      throw new UsageError(
        `unknown flag --${name}${near ? `; did you mean --${near}?` : ''} (parameters of the API start with a capital)`,
      );
    }
    if (value === undefined) {
      const next = argv[i + 1];
      // `--DryRun --Name x` would otherwise send "--Name" as DryRun's value and then trip over "x".
      if (next === undefined || next.startsWith('--'))
        throw new UsageError(`--${name} needs a value (write --${name} true for a flag)`);
      value = next;
      i++;
    }
    if (OWN_FLAGS.has(name)) flags[name] = value;
    else params[name] = value;
  }
  if (action === undefined && flags.help !== true && flags.version !== true) throw new UsageError(usage);
  return { action: action ?? '', params, flags };
}

export class UsageError extends Error {}

interface WaitSpec {
  list: string;
  idsParam: string;
  collection: string;
  idField: string;
  statusField: string;
  id: (params: Record<string, string>, body: Record<string, unknown>) => string | undefined;
  until: 'ready' | 'gone';
  /** The call names a rule: the filter to follow is the one that lists it (filterOfRule). */
  byRule?: true;
}

const fromParam = (name: string) => (p: Record<string, string>) => p[name];
const fromBody = (name: string) => (_p: Record<string, string>, b: Record<string, unknown>) =>
  typeof b[name] === 'string' ? (b[name] as string) : undefined;

const SESSION = {
  list: 'ListTrafficMirrorSessions',
  idsParam: 'TrafficMirrorSessionIds.1',
  collection: 'TrafficMirrorSessions',
  idField: 'TrafficMirrorSessionId',
  statusField: 'TrafficMirrorSessionStatus',
};
const FILTER = {
  list: 'ListTrafficMirrorFilters',
  idsParam: 'TrafficMirrorFilterIds.1',
  collection: 'TrafficMirrorFilters',
  idField: 'TrafficMirrorFilterId',
  statusField: 'TrafficMirrorFilterStatus',
};

export const WAITS: Readonly<Record<string, WaitSpec>> = {
  CreateTrafficMirrorSession: { ...SESSION, id: fromBody('TrafficMirrorSessionId'), until: 'ready' },
  UpdateTrafficMirrorSessionAttribute: {
    ...SESSION,
    id: fromParam('TrafficMirrorSessionId'),
    until: 'ready',
  },
  AddSourcesToTrafficMirrorSession: { ...SESSION, id: fromParam('TrafficMirrorSessionId'), until: 'ready' },
  RemoveSourcesFromTrafficMirrorSession: {
    ...SESSION,
    id: fromParam('TrafficMirrorSessionId'),
    until: 'ready',
  },
  DeleteTrafficMirrorSession: { ...SESSION, id: fromParam('TrafficMirrorSessionId'), until: 'gone' },
  CreateTrafficMirrorFilter: { ...FILTER, id: fromBody('TrafficMirrorFilterId'), until: 'ready' },
  CreateTrafficMirrorFilterRules: { ...FILTER, id: fromParam('TrafficMirrorFilterId'), until: 'ready' },
  UpdateTrafficMirrorFilterRuleAttribute: {
    ...FILTER,
    id: fromParam('TrafficMirrorFilterRuleId'),
    until: 'ready',
    byRule: true,
  },
  DeleteTrafficMirrorFilterRules: { ...FILTER, id: fromParam('TrafficMirrorFilterId'), until: 'ready' },
  DeleteTrafficMirrorFilter: { ...FILTER, id: fromParam('TrafficMirrorFilterId'), until: 'gone' },
};

/** A filter is ready only when it and every rule are Created. */
function statusOf(spec: WaitSpec, item: Record<string, unknown>): string {
  const own = String(item[spec.statusField] ?? 'unknown');
  if (spec.collection !== 'TrafficMirrorFilters' || own !== 'Created') return own;
  for (const dir of ['IngressRules', 'EgressRules']) {
    const rules = item[dir];
    if (!Array.isArray(rules)) continue;
    for (const r of rules) {
      const s = (r as Record<string, unknown>).TrafficMirrorFilterRuleStatus;
      if (s !== 'Created') return `rules ${String(s)}`;
    }
  }
  return own;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A List call made while following: an answer, or why there is none (the server went away). */
async function listOrReason(
  opts: ClientOptions,
  action: string,
  params: Record<string, string>,
  timeoutMs?: number,
): Promise<Awaited<ReturnType<typeof call>> | string> {
  try {
    return await call(opts, action, params, timeoutMs);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function cannotFollow(
  err: NodeJS.WriteStream,
  id: string,
  list: string,
  r: Awaited<ReturnType<typeof call>> | string,
) {
  if (typeof r === 'string') {
    err.write(`--wait cannot follow ${id}: ${list} got no answer (${r})\n`);
    return;
  }
  err.write(
    `--wait cannot follow ${id}: ${list} answered HTTP ${r.status} ${String(r.body.Code)}: ${String(r.body.Message)}` +
      `${r.status === 403 ? ` (the caller needs vpc:${list})` : ''}\n`,
  );
}

/** The filter whose rules include `ruleId`, walking every filter of the region. */
async function filterOfRule(
  opts: ClientOptions,
  regionId: string | undefined,
  ruleId: string,
  err: NodeJS.WriteStream,
): Promise<string | undefined> {
  let token: string | undefined;
  do {
    const params: Record<string, string> = { MaxResults: '100' };
    if (regionId) params.RegionId = regionId;
    if (token) params.NextToken = token;
    const r = await listOrReason(opts, FILTER.list, params);
    if (typeof r === 'string' || r.status !== 200) {
      cannotFollow(err, ruleId, FILTER.list, r);
      return undefined;
    }
    const filters = Array.isArray(r.body.TrafficMirrorFilters) ? r.body.TrafficMirrorFilters : [];
    for (const f of filters as Array<Record<string, unknown>>) {
      const rules = [f.IngressRules, f.EgressRules].flatMap((x) => (Array.isArray(x) ? x : []));
      if (rules.some((rule) => (rule as Record<string, unknown>).TrafficMirrorFilterRuleId === ruleId))
        return String(f.TrafficMirrorFilterId);
    }
    token = typeof r.body.NextToken === 'string' && r.body.NextToken !== '' ? r.body.NextToken : undefined;
  } while (token);
  err.write(`--wait cannot follow ${ruleId}: no filter of the region lists it\n`);
  return undefined;
}

async function waitFor(
  opts: ClientOptions,
  spec: WaitSpec,
  regionId: string | undefined,
  id: string,
  timeoutMs: number,
  intervalMs: number,
  err: NodeJS.WriteStream,
): Promise<boolean> {
  const started = Date.now();
  const tty = err.isTTY === true;
  const frames = ['|', '/', '-', '\\'];
  let last = '';
  let tick = 0;
  let seen = false;
  for (;;) {
    const params: Record<string, string> = { [spec.idsParam]: id };
    if (regionId) params.RegionId = regionId;
    // A poll may not outlast the wait by much: a server that stopped answering is not waited on
    // for the client's own 30 s on top of --timeout.
    const left = started + timeoutMs - Date.now();
    const r = await listOrReason(opts, spec.list, params, Math.min(30_000, Math.max(1_000, left + 1_000)));
    if (typeof r === 'string' || r.status !== 200) {
      if (tty) err.write('\n');
      cannotFollow(err, id, spec.list, r);
      return false;
    }
    const items = r.body[spec.collection];
    const item = Array.isArray(items)
      ? (items.find((i) => (i as Record<string, unknown>)[spec.idField] === id) as
          | Record<string, unknown>
          | undefined)
      : undefined;
    const status = item ? statusOf(spec, item) : 'gone';
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const done = spec.until === 'gone' ? item === undefined : status === 'Created';
    if (tty)
      err.write(`\r\x1b[2K${done ? 'done' : frames[tick++ % frames.length]} ${id}: ${status} (${elapsed}s)`);
    else if (status !== last) err.write(`${id}: ${status} (${elapsed}s)\n`);
    last = status;
    if (done) {
      if (tty) err.write('\n');
      return true;
    }
    if (item === undefined && seen) {
      // What was to become Created is gone (deleted meanwhile, or the store reset): it never will.
      // Not before it was first listed: a List may lag a Create somewhere else.
      if (tty) err.write('\n');
      err.write(`${id} no longer exists: it was deleted while waiting for it to be Created\n`);
      return false;
    }
    if (item !== undefined) seen = true;
    if (Date.now() - started >= timeoutMs) {
      if (tty) err.write('\n');
      err.write(
        `timed out after ${timeoutMs / 1000}s waiting for ${id} to be ${spec.until === 'gone' ? 'deleted' : 'Created'}\n`,
      );
      return false;
    }
    // The last poll falls on the deadline, not an --interval past it.
    await sleep(Math.min(intervalMs, Math.max(0, started + timeoutMs - Date.now())));
  }
}

/** Where `vpcmirror serve` records its endpoint, so `call --data-dir` finds the server. */
export const ENDPOINT_FILE = 'endpoint';

/** The endpoint `vpcmirror serve` recorded in the data directory, if any. */
function endpointFile(dataDir: string): string | undefined {
  const path = join(dataDir, ENDPOINT_FILE);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8').trim();
  return text === '' ? undefined : text;
}

/**
 * `host:port`, `http://host:port` or `https://host:port` (host a name, an IPv4 address or a
 * bracketed IPv6 one), or a usage error naming where it came from: a path or a port that is not one
 * would otherwise be dialled somewhere else (port 80) and reported as nothing listening there.
 */
export function checkEndpoint(endpoint: string, from: string): string {
  // A link-local IPv6 address carries its interface (`[fe80::1%eth0]`), as serve records it.
  const m =
    /^(?:https?:\/\/)?(\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._-]+)?\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?\/*$/.exec(
      endpoint,
    );
  const port = m?.[2] === undefined ? 80 : Number(m[2]);
  if (!m || port < 1 || port > 65535)
    throw new UsageError(
      `${from}: ${quoted(endpoint)} is not an endpoint: give host:port, http://host:port or https://host:port`,
    );
  return endpoint;
}

/**
 * A V3 call sends the key id, the token and the action in headers, where node refuses control
 * characters and anything past Latin-1 with a stack trace; said as a usage mistake instead.
 */
function headerSafe(value: string | undefined, what: string): void {
  if (value !== undefined && /[^\t\x20-\x7e\x80-\xff]/.test(value))
    throw new UsageError(`${what} has a character an HTTP header cannot carry: ${quoted(value)}`);
}

export function clientOptions(
  flags: Record<string, string | true>,
  env: NodeJS.ProcessEnv = process.env,
): ClientOptions {
  const str = (f: string, e: string): string | undefined => {
    const v = flags[f];
    return typeof v === 'string' ? v : env[e] || undefined;
  };
  const givenDataDir = str('data-dir', 'VPCMIRROR_DATA_DIR');
  const dataDir = givenDataDir ?? DEFAULT_DATA_DIR;
  const file = readCredentialsFile(dataDir);
  const accessKeyId = str('access-key-id', 'VPCMIRROR_ACCESS_KEY_ID') ?? file?.accessKeyId;
  const accessKeySecret = str('access-key-secret', 'VPCMIRROR_ACCESS_KEY_SECRET') ?? file?.accessKeySecret;
  if (!accessKeyId || !accessKeySecret) {
    const path = join(dataDir, 'credentials.json');
    // A file that is there but unreadable as credentials is not the same mistake as no file.
    if (file === undefined && existsSync(path))
      throw new UsageError(
        `${path} is damaged (not the JSON a server writes): start the server on this data directory to write it again, or pass --access-key-id and --access-key-secret`,
      );
    throw new UsageError(
      `no credentials: pass --access-key-id and --access-key-secret, set VPCMIRROR_ACCESS_KEY_ID/SECRET, pass --data-dir DIR of the server, or run where ${path} exists`,
    );
  }
  const signature = str('signature', 'VPCMIRROR_SIGNATURE') ?? 'v3';
  if (signature !== 'v1' && signature !== 'v3') throw new UsageError('--signature is v1 or v3');
  const method = (str('method', 'VPCMIRROR_METHOD') ?? 'POST').toUpperCase();
  if (method !== 'GET' && method !== 'POST') throw new UsageError('--method is GET or POST');
  const caFile = str('ca', 'VPCMIRROR_CA');
  let ca: (string | Buffer)[] | undefined;
  if (caFile !== undefined) {
    try {
      ca = trustingAlso(readFileSync(caFile));
    } catch (e) {
      throw new UsageError(`--ca: cannot read ${caFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const securityToken = str('security-token', 'VPCMIRROR_SECURITY_TOKEN');
  if (signature === 'v3') {
    headerSafe(accessKeyId, 'the AccessKey id');
    headerSafe(securityToken, 'the security token');
  }
  const explicit = str('endpoint', 'VPCMIRROR_ENDPOINT');
  const recorded = explicit === undefined ? endpointFile(dataDir) : undefined;
  // A data directory named on purpose whose server is not running must not send the call to
  // whatever else listens on the default port.
  if (explicit === undefined && recorded === undefined && givenDataDir !== undefined)
    throw new UsageError(
      `no server is recorded in ${join(dataDir, ENDPOINT_FILE)} (none was started there, or the last one started there has stopped): give --endpoint, or start one with \`vpcmirror serve --data-dir ${dataDir}\``,
    );
  const endpoint =
    explicit !== undefined
      ? checkEndpoint(explicit, flags.endpoint !== undefined ? '--endpoint' : 'VPCMIRROR_ENDPOINT')
      : recorded !== undefined
        ? checkEndpoint(recorded, join(dataDir, ENDPOINT_FILE))
        : '127.0.0.1:8787';
  return {
    endpoint,
    ca,
    accessKeyId,
    accessKeySecret,
    securityToken,
    signature,
    method,
  };
}

/** The longest delay a Node timer keeps: 2^31 - 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A --timeout or --interval in seconds, as milliseconds: a positive number, or the default. */
function seconds(value: string | true | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback * 1000;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${flag} is a number of seconds greater than 0, got ${JSON.stringify(value)}`);
  // Node fires a longer timer at once: a wait between polls would become none, a busy loop.
  if (n * 1000 > MAX_TIMER_MS)
    throw new UsageError(
      `--${flag} is at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days), got ${JSON.stringify(value)}`,
    );
  return n * 1000;
}

export async function callCommand(argv: readonly string[], help: string): Promise<number> {
  const parsed = parseCallArgs(argv);
  if (parsed.flags.help === true) {
    process.stdout.write(help);
    return 0;
  }
  if (parsed.flags.version === true) {
    process.stdout.write(`vpcmirror ${VERSION}\n`);
    return 0;
  }
  // Checked before the call is sent: a bad --timeout must not leave a change made and unwatched.
  const timeout = seconds(parsed.flags.timeout, 'timeout', 300);
  const interval = seconds(parsed.flags.interval, 'interval', 0.5);
  const opts = clientOptions(parsed.flags);
  if (opts.signature === 'v3') headerSafe(parsed.action, 'the action name');
  for (const line of parameterAdvice(parsed.action, parsed.params, new Set([...OWN_FLAGS, 'wait'])))
    process.stderr.write(`vpcmirror: warning: ${line}\n`);
  const result = await call(opts, parsed.action, parsed.params);
  process.stdout.write(`${JSON.stringify(result.body, null, 2)}\n`);
  if (result.status >= 300) {
    process.stderr.write(`vpcmirror: HTTP ${result.status} ${String(result.body.Code)}\n`);
    const advice = result.body.Code === 'InvalidAction.NotFound' ? actionAdvice(parsed.action) : undefined;
    if (advice) process.stderr.write(`vpcmirror: ${advice}\n`);
    return 1;
  }
  if (parsed.flags.wait) {
    const spec = WAITS[parsed.action];
    if (!spec) {
      process.stderr.write(`--wait: ${parsed.action} completes synchronously; nothing to wait for\n`);
      return 0;
    }
    const named = spec.id(parsed.params, result.body);
    if (!named) throw new UsageError(`--wait: cannot tell which resource ${parsed.action} changed`);
    const id = spec.byRule ? await filterOfRule(opts, parsed.params.RegionId, named, process.stderr) : named;
    if (id === undefined) return 3;
    // Ctrl-C ends the wait, not the change: say so, and end the status line it may have left open.
    const interrupted = () => {
      process.stderr.write(
        `${process.stderr.isTTY ? '\n' : ''}vpcmirror: stopped waiting; ${id} goes on changing in the server (${spec.list} shows it)\n`,
      );
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    const ok = await waitFor(
      opts,
      spec,
      parsed.params.RegionId,
      id,
      timeout,
      interval,
      process.stderr,
    ).finally(() => process.off('SIGINT', interrupted));
    // The call itself succeeded; 3 says only that its outcome was not seen.
    return ok ? 0 : 3;
  }
  return 0;
}
