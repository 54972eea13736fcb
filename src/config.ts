/**
 * Configuration: command-line flags and VPCMIRROR_* environment variables, parsed and checked
 * once at start into a frozen object. Defaults give a server that needs no other service.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';

/** Regions where Alibaba Cloud documents traffic mirroring (spec protocol.md section 12). */
export const DEFAULT_REGIONS: readonly string[] = [
  'cn-hangzhou',
  'cn-shanghai',
  'cn-qingdao',
  'cn-beijing',
  'cn-zhangjiakou',
  'cn-huhehaote',
  'cn-wulanchabu',
  'cn-shenzhen',
  'cn-heyuan',
  'cn-guangzhou',
  'cn-chengdu',
  'cn-hongkong',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-3',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'us-west-1',
  'us-east-1',
  'eu-central-1',
  'eu-west-1',
  'me-east-1',
  'me-central-1',
];

export type TransitionDelay = number | 'manual';

/** Delay per `<resource>.<action>` key (e.g. `session.delete`), with `default` as the fallback. */
export type TransitionTiming = Readonly<Record<string, TransitionDelay>>;

export interface ResourceLimits {
  /** Sources one session may mirror. */
  readonly sourcesPerSession: number;
  /** Sessions one source ENI may belong to. */
  readonly sessionsPerSource: number;
  /** Filters per account and region. */
  readonly filtersPerRegion: number;
  /** Sessions per account and region. */
  readonly sessionsPerRegion: number;
}

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** `postgres://…` or the path of the SQLite file. */
  readonly database: string;
  readonly logLevel: string;
  readonly regions: readonly string[];
  readonly hostId: string;
  readonly bodyLimitBytes: number;
  readonly maxSkewMs: number;
  readonly nonceTtlMs: number;
  readonly checkTimestamp: boolean;
  readonly checkNonce: boolean;
  readonly ramEnforced: boolean;
  readonly clientTokenTtlMs: number;
  readonly transitions: TransitionTiming;
  readonly workerIntervalMs: number;
  /** PostgreSQL only: how long a statement may go unanswered before its connection is given up. */
  readonly pgStatementDeadlineMs: number;
  readonly limits: ResourceLimits;
  readonly adminToken: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly accessKeySecret: string | undefined;
  /** A declarative set-up file (accounts, users, keys, policies) applied at start. */
  readonly configFile: string | undefined;
  /**
   * Where an SQLite store's write-ahead log is checkpointed: on a thread of its own (`thread`, the
   * default), or inside the commits, as SQLite does by itself (`inline`). See store/checkpointer.ts.
   */
  readonly sqliteCheckpoints: 'thread' | 'inline';
  /**
   * This node's identity among nodes sharing a database; by default kept in the data directory, so
   * it survives restarts (see releaseOrphanedTokens).
   */
  readonly nodeId: string | undefined;
  /** Serve HTTPS with this certificate chain and private key (PEM) instead of plain HTTP. */
  readonly tls: TlsFiles | undefined;
}

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Where the certificate came from, for the hint that tells clients to trust it. */
  readonly certFile: string;
}

export class ConfigError extends Error {
  readonly code = 'ConfigError';
}

export const DEFAULT_LIMITS: ResourceLimits = {
  sourcesPerSession: 10,
  sessionsPerSource: 3,
  filtersPerRegion: 100,
  sessionsPerRegion: 1000,
};

const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as (keyof ResourceLimits)[];
const isLimitKey = (key: string): key is keyof ResourceLimits => (LIMIT_KEYS as string[]).includes(key);
/**
 * The largest a quota may be set to: far above any real account's, and a 32-bit integer, which
 * every driver binds exactly in the quota comparisons of both stores.
 */
const MAX_LIMIT = 2 ** 31 - 1;

/** `sessionsPerRegion=5000,sessionsPerSource=5`: the quotas named, the others as DEFAULT_LIMITS. */
export function parseLimits(text: string, what = '--limits'): ResourceLimits {
  const out: { -readonly [K in keyof ResourceLimits]: number } = { ...DEFAULT_LIMITS };
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = part.slice(0, eq < 0 ? part.length : eq).trim();
    if (!isLimitKey(key))
      throw new ConfigError(`${what}: unknown limit "${key}" (known: ${LIMIT_KEYS.join(', ')})`);
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 1 && n <= MAX_LIMIT))
      throw new ConfigError(`${what}: ${key} must be a whole number from 1 to ${MAX_LIMIT}, got "${value}"`);
    out[key] = n;
  }
  return out;
}

export function parseDelay(text: string, what: string): TransitionDelay {
  const t = text.trim().toLowerCase();
  if (t === 'manual') return 'manual';
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(t);
  if (!m) throw new ConfigError(`${what}: expected milliseconds, "<n>s" or "manual", got "${text}"`);
  const n = Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
  // A due time is the clock plus the delay in a bigint column; "never by itself" is `manual`.
  if (n > MAX_DELAY_MS)
    throw new ConfigError(`${what}: at most ${MAX_DELAY_MS} ms (about 24 days), or "manual", got "${text}"`);
  return n;
}

/** The longest transition delay, and the longest worker interval: what a Node.js timer can wait. */
export const MAX_DELAY_MS = 2 ** 31 - 1;

export const TRANSITION_KEYS = [
  'session.create',
  'session.update',
  'session.delete',
  'filter.create',
  // No filter.update: UpdateTrafficMirrorFilterAttribute changes a filter at once.
  'filter.delete',
  'rule.create',
  'rule.update',
  'rule.delete',
] as const;

/** `1s` or `default=1s,session.delete=manual,filter.create=0`. */
export function parseTransitions(text: string): TransitionTiming {
  const out: Record<string, TransitionDelay> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? 'default' : part.slice(0, eq).trim();
    if (key !== 'default' && !(TRANSITION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(
        `unknown transition key "${key}" (known: default, ${TRANSITION_KEYS.join(', ')})`,
      );
    }
    out[key] = parseDelay(eq < 0 ? part : part.slice(eq + 1), `transition ${key}`);
  }
  return out;
}

/**
 * A host only this machine can reach: localhost, ::1, or an IPv4 address in 127/8. An address, not
 * any name that starts like one (127.example.com resolves where it likes).
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Where state lives unless told otherwise: relative to the directory the server starts in. */
export const DEFAULT_DATA_DIR = './.vpcmirror';

export interface ConfigInput {
  readonly [flag: string]: string | boolean | undefined;
}

function num(v: string | undefined, what: () => string, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  // Times are stored as whole milliseconds (bigint columns), sizes and ports are counts.
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(`${what()} must be a non-negative whole number, got "${v}"`);
  return n;
}

/** Node.js runs a timer of 0 or of more than MAX_DELAY_MS after 1 ms: a busy loop, not what was asked. */
function timerLength(ms: number, what: () => string): number {
  if (ms < 1 || ms > MAX_DELAY_MS) throw new ConfigError(`${what()} must be 1-${MAX_DELAY_MS} ms, got ${ms}`);
  return ms;
}

/** A flag given with an empty value (`--config ''`, a variable that expanded to nothing) is a mistake, not an absence. */
function nonEmpty(v: string | undefined, what: () => string): string | undefined {
  if (v === '') throw new ConfigError(`${what()} needs a value`);
  return v;
}

function bool(v: string | boolean | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  return !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
}

/**
 * Builds the config from flags (already parsed, kebab-case names) and the environment. Flags win.
 * A command that only opens the store (`for: 'store'`) reads its data directory and database
 * alone; the server's settings keep their defaults, unread and unchecked.
 */
export function loadConfig(
  flags: ConfigInput,
  env: NodeJS.ProcessEnv = process.env,
  options: { readonly for: 'serve' | 'store' } = { for: 'serve' },
): Config {
  const serving = options.for === 'serve';
  // Where each value came from, so that a refusal names what the user actually set.
  const sources = new Map<string, string>();
  const str = (flag: string, envName: string): string | undefined => {
    const f = flags[flag];
    if (typeof f === 'string') {
      sources.set(flag, `--${flag}`);
      return f;
    }
    const e = env[envName];
    if (e === undefined || e === '') return undefined;
    sources.set(flag, envName);
    return e;
  };
  const from = (flag: string): string => sources.get(flag) ?? `--${flag}`;
  // A server's own settings: a command that only opens the store neither reads nor checks them,
  // so a server's environment (a port, TLS files, …) cannot stop it.
  const serve = (flag: string, envName: string): string | undefined =>
    serving ? str(flag, envName) : undefined;
  const dataDir = str('data-dir', 'VPCMIRROR_DATA_DIR') ?? DEFAULT_DATA_DIR;
  const port = num(serve('port', 'VPCMIRROR_PORT'), () => from('port'), 8787);
  if (!Number.isInteger(port) || port > 65535)
    throw new ConfigError(`${from('port')} must be 0-65535, got ${port}`);
  const regions = serve('regions', 'VPCMIRROR_REGIONS')
    ?.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const logLevel = serve('log-level', 'VPCMIRROR_LOG_LEVEL') ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new ConfigError(
      `${from('log-level')} must be one of trace, debug, info, warn, error, fatal, silent`,
    );
  }
  const ramFlag = flags['no-ram'] === true ? false : undefined;
  const sqliteCheckpoints = serve('sqlite-checkpoints', 'VPCMIRROR_SQLITE_CHECKPOINTS') ?? 'thread';
  if (sqliteCheckpoints !== 'thread' && sqliteCheckpoints !== 'inline') {
    throw new ConfigError(
      `${from('sqlite-checkpoints')} must be thread or inline, got "${sqliteCheckpoints}"`,
    );
  }
  const certFile = serve('tls-cert', 'VPCMIRROR_TLS_CERT');
  const keyFile = serve('tls-key', 'VPCMIRROR_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError(
      `${certFile === undefined ? from('tls-key') : from('tls-cert')} needs ${certFile === undefined ? '--tls-cert' : '--tls-key'} too: give both the certificate and its key, or neither for plain HTTP`,
    );
  const readPem = (file: string, flag: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(
        `${from(flag)}: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  };
  const tls =
    certFile !== undefined && keyFile !== undefined
      ? { cert: readPem(certFile, 'tls-cert'), key: readPem(keyFile, 'tls-key'), certFile }
      : undefined;
  if (tls) {
    // Checked here, so that a wrong file or a key of another certificate is one line at start.
    try {
      createSecureContext({ cert: tls.cert, key: tls.key });
    } catch (e) {
      throw new ConfigError(
        `${from('tls-cert')} and ${from('tls-key')}: not a PEM certificate and its private key (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }
  // One of the pair alone would be ignored, and the server would go on with another key unnoticed.
  if (
    serving &&
    ((env.VPCMIRROR_ACCESS_KEY_ID || undefined) === undefined) !==
      ((env.VPCMIRROR_ACCESS_KEY_SECRET || undefined) === undefined)
  )
    throw new ConfigError('set both VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET, or neither');
  return Object.freeze({
    host: serve('host', 'VPCMIRROR_HOST') ?? '127.0.0.1',
    port,
    dataDir,
    database: str('database', 'VPCMIRROR_DATABASE_URL') ?? join(dataDir, 'vpcmirror.sqlite'),
    logLevel,
    regions: regions && regions.length > 0 ? regions : DEFAULT_REGIONS,
    hostId: serve('host-id', 'VPCMIRROR_HOST_ID') ?? 'vpc.aliyuncs.com',
    bodyLimitBytes: num(serve('body-limit', 'VPCMIRROR_BODY_LIMIT'), () => from('body-limit'), 1024 * 1024),
    maxSkewMs: num(serve('max-skew', 'VPCMIRROR_MAX_SKEW_MS'), () => from('max-skew'), 15 * 60 * 1000),
    nonceTtlMs: num(serve('nonce-ttl', 'VPCMIRROR_NONCE_TTL_MS'), () => from('nonce-ttl'), 15 * 60 * 1000),
    checkTimestamp: bool(env.VPCMIRROR_CHECK_TIMESTAMP, true),
    checkNonce: bool(env.VPCMIRROR_CHECK_NONCE, true),
    ramEnforced: ramFlag ?? bool(env.VPCMIRROR_RAM, true),
    clientTokenTtlMs: num(
      serve('client-token-ttl', 'VPCMIRROR_CLIENT_TOKEN_TTL_MS'),
      () => from('client-token-ttl'),
      24 * 3600 * 1000,
    ),
    transitions: parseTransitions(serve('transitions', 'VPCMIRROR_TRANSITIONS') ?? 'default=1s'),
    workerIntervalMs: timerLength(
      num(serve('worker-interval', 'VPCMIRROR_WORKER_INTERVAL_MS'), () => from('worker-interval'), 200),
      () => from('worker-interval'),
    ),
    pgStatementDeadlineMs: timerLength(
      num(
        serve('pg-statement-deadline', 'VPCMIRROR_PG_STATEMENT_DEADLINE_MS'),
        () => from('pg-statement-deadline'),
        30_000,
      ),
      () => from('pg-statement-deadline'),
    ),
    limits: parseLimits(serve('limits', 'VPCMIRROR_LIMITS') ?? '', from('limits')),
    adminToken: serve('admin-token', 'VPCMIRROR_ADMIN_TOKEN'),
    accessKeyId: env.VPCMIRROR_ACCESS_KEY_ID || undefined,
    accessKeySecret: env.VPCMIRROR_ACCESS_KEY_SECRET || undefined,
    configFile: nonEmpty(serve('config', 'VPCMIRROR_CONFIG'), () => from('config')),
    nodeId: serve('node-id', 'VPCMIRROR_NODE_ID'),
    sqliteCheckpoints,
    tls,
  });
}
