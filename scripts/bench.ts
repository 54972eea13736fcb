/**
 * `npm run bench`: throughput and latency of the real server, as a child process with default
 * settings (SQLite file or PostgreSQL, signature and nonce checks, RAM), against a bare node:http
 * ceiling measured in the same run with the same load generator. Prints a table and writes the same
 * numbers as JSON under bench/results/. docs/benchmarks.md explains every number.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { type SignedRequest, send, signRequest } from '../src/cli/client.js';
import { openStore, redactUrl, type Store } from '../src/store/store.js';
import type { LoadJob, LoadResult, Recipe } from './bench/job.js';
import {
  type AccountKey,
  BENCH_ACCOUNT,
  benchListCount,
  createAccountsFor,
  DELETE_POOL_MAX,
  FLOOR_CREATE_PARAMS,
  LIST_REGION,
  type Principal,
} from './bench/layout.js';
import { measurePages, type PageStats } from './bench/pages.js';
import {
  killChildren,
  memoryOf,
  runLoad,
  type ServerProcess,
  startCeiling,
  startFloor,
  startVpcmirror,
  WindowSampler,
  type WindowStats,
} from './bench/processes.js';
import {
  formatProfile,
  type ProfileSummary,
  summarizeProfile,
  type TimeWindow,
  windowsOf,
} from './bench/profile.js';
import {
  benchListIds,
  countSessions,
  newKey,
  seedCreateAccounts,
  seedDeletePool,
  seedKeys,
  seedStored,
} from './bench/seed.js';
import { haveWrk, runWrk, type WrkResult } from './bench/wrk.js';

const ROOT = new URL('../', import.meta.url).pathname;
const RESULTS = join(ROOT, 'bench/results');

const THROUGHPUT = ['ceiling', 'regions', 'list', 'create', 'delete'] as const;
/**
 * Signed Lists a second the memory-under-load window signs for: above what this server reaches on
 * any machine measured (about 14,000), so the window does not run out; more only costs signing.
 */
const LOADED_RPS_BOUND = 30_000;
const ALL_SCENARIOS = [...THROUGHPUT, 'pages'] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];

interface Options {
  readonly durationSec: number;
  readonly warmupSec: number;
  readonly connections: number;
  readonly database: string | undefined;
  readonly nodes: number;
  readonly only: ReadonlySet<Scenario>;
  readonly sizes: readonly number[];
  readonly stored: number;
  readonly repeats: number;
  readonly quick: boolean;
  readonly profile: boolean;
  readonly keep: boolean;
  readonly principal: Principal;
}

const USAGE = `npm run bench -- [options]
  --duration <s>        timed run per throughput scenario (default 10; --quick: 2)
  --warmup <s>          unmeasured run before each (default 2; --quick: 0.5)
  --connections <n>     concurrent connections (default 32)
  --database <url>      postgres://… (default: an SQLite file in a temporary data directory)
  --nodes 1|2           server processes on one PostgreSQL database (default 1)
  --only <list>         some of: ${ALL_SCENARIOS.join(',')} (ceiling always runs with a throughput scenario)
  --sizes <list>        stored sessions for the List page timings (default 1000,100000,1000000)
  --stored <n>          stored sessions during the throughput scenarios (default 100000)
  --repeats <n>         repeats of each timed page (default 21; --quick: 7)
  --quick               smoke check: --duration 2 --warmup 0.5 --sizes 1000,10000 --stored 5000
  --principal user|root who signs the load: a RAM user with AliyunVPCFullAccess (default) or the account
  --profile             write a CPU profile of each server process to bench/results/
  --keep                keep the temporary data directory`;

class UsageError extends Error {}

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        database: { type: 'string' },
        nodes: { type: 'string' },
        only: { type: 'string' },
        sizes: { type: 'string' },
        stored: { type: 'string' },
        repeats: { type: 'string' },
        quick: { type: 'boolean' },
        profile: { type: 'boolean' },
        principal: { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseFlags(argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick === true;
  // Counts are whole decimal numbers from 1; seconds may have a fraction but must be positive
  // (the warm-up may be 0). `Number` alone took '', '0x10' and 1.5 connections.
  const num = (
    v: string | undefined,
    fallback: number,
    what: string,
    kind: 'count' | 'seconds' | 'warmup' = 'count',
  ): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    const ok =
      kind === 'count'
        ? /^\d+$/.test(v) && Number.isSafeInteger(n) && n >= 1
        : /^\d+(\.\d+)?$/.test(v) && (kind === 'warmup' ? n >= 0 : n > 0);
    if (!ok)
      throw new UsageError(
        `${what} must be ${kind === 'count' ? 'a whole number from 1' : kind === 'warmup' ? 'seconds, 0 or more' : 'seconds, more than 0'}, got "${v}"`,
      );
    return n;
  };
  const list = (v: string | undefined, what: string) => {
    if (v === undefined) return undefined;
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new UsageError(`${what} names nothing`);
    return items;
  };
  const only = list(values.only, '--only') ?? [...ALL_SCENARIOS];
  for (const s of only) {
    if (!(ALL_SCENARIOS as readonly string[]).includes(s))
      throw new UsageError(`unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
  }
  const sizes = (
    list(values.sizes, '--sizes') ?? (quick ? ['1000', '10000'] : ['1000', '100000', '1000000'])
  ).map((s) => num(s, 0, '--sizes'));
  const nodes = num(values.nodes, 1, '--nodes');
  const principal = values.principal ?? 'user';
  if (principal !== 'user' && principal !== 'root') throw new UsageError('--principal must be user or root');
  if (nodes !== 1 && nodes !== 2) throw new UsageError('--nodes must be 1 or 2');
  if (nodes === 2 && !values.database)
    throw new UsageError('--nodes 2 needs --database postgres://… (shared store)');
  if (values.database && !/^postgres(ql)?:\/\//.test(values.database))
    throw new UsageError('--database must be a postgres:// URL (SQLite is the default)');
  // The benchmark sets the schema through `options`; the store lets the URL's own win, so the
  // server would read a schema other than the one seeded and dropped.
  if (values.database && /[?&]options=/.test(values.database))
    throw new UsageError('--database must not carry options= (the benchmark sets the search_path itself)');
  return {
    durationSec: num(values.duration, quick ? 2 : 10, '--duration', 'seconds'),
    warmupSec: num(values.warmup, quick ? 0.5 : 2, '--warmup', 'warmup'),
    connections: num(values.connections, 32, '--connections'),
    database: values.database,
    nodes,
    only: new Set(only as Scenario[]),
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    stored: num(values.stored, quick ? 5000 : 100_000, '--stored'),
    repeats: num(values.repeats, quick ? 7 : 21, '--repeats'),
    quick,
    profile: values.profile === true,
    keep: values.keep === true,
    principal,
  };
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** A signal is stopping the run: what fails meanwhile (the generator it also reached) is no news. */
let interrupted = false;

/** Work to undo however the run ends (children, PostgreSQL schemas, temporary files). */
const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length > 0)
    await cleanups
      .pop()?.()
      .catch((e: unknown) => log(`clean-up: ${String(e)}`));
}

/** A database for one phase: an SQLite file in a fresh data directory, or a fresh PostgreSQL schema. */
interface BenchDb {
  /** What `serve --database` gets (a search_path option for PostgreSQL). */
  readonly serverLocation: string | undefined;
  readonly dataDirs: readonly string[];
  /** The SQLite file; undefined on PostgreSQL. */
  readonly sqliteFile: string | undefined;
  open(): Promise<Store>;
}

async function createDb(opts: Options, tmp: string, name: string): Promise<BenchDb> {
  const dataDirs = Array.from({ length: opts.nodes }, (_, i) => join(tmp, `${name}-node${i + 1}`));
  for (const d of dataDirs) mkdirSync(d, { recursive: true });
  const url = opts.database;
  if (!url) {
    const file = join(dataDirs[0] ?? tmp, 'vpcmirror.sqlite');
    return {
      serverLocation: undefined,
      dataDirs,
      sqliteFile: file,
      open: () => openStore({ location: file }),
    };
  }
  const schema = `vpcmirror_bench_${randomBytes(5).toString('hex')}`;
  const withPath = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const open = () => openStore({ location: url, schema });
  // Named, so that a run killed before its clean-up leaves a schema one can find and drop.
  log(`PostgreSQL schema ${schema} (dropped at the end)`);
  cleanups.push(async () => {
    const s = await openStore({ location: url, migrate: false });
    try {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(s.db);
    } catch (e) {
      throw new Error(`dropping schema ${schema}: ${String(e)}`);
    } finally {
      await s.close();
    }
  });
  return { serverLocation: withPath, dataDirs, sqliteFile: undefined, open };
}

interface Nodes {
  readonly procs: readonly ServerProcess[];
  readonly endpoints: readonly string[];
  stop(): Promise<void>;
}

/** What the first server said it runs with (its `vpcmirror listening` line, keys left out). */
let serverSettings: Record<string, unknown> | undefined;

const stamp = new Date().toISOString().slice(0, 19).replace('T', '-').replaceAll(':', '');
const profiles: string[] = [];
/** Timed windows of the scenarios, to cut the CPU profiles down to them. */
const windows: TimeWindow[] = [];

async function startNodes(opts: Options, db: BenchDb, key: AccountKey, label: string): Promise<Nodes> {
  const procs: ServerProcess[] = [];
  const stopAll = async () => {
    for (const p of procs) await p.stop();
  };
  cleanups.push(stopAll);
  for (const [i, dataDir] of db.dataDirs.entries()) {
    const name = `${stamp}-${opts.database ? 'postgres' : 'sqlite'}-${label}-node${i + 1}.cpuprofile`;
    if (opts.profile) profiles.push(join(RESULTS, name));
    procs.push(
      await startVpcmirror({
        dataDir,
        database: db.serverLocation,
        key,
        profileTo: opts.profile ? join(RESULTS, name) : undefined,
      }),
    );
  }
  if (!serverSettings && procs[0]?.settings) {
    const { accountId, accessKeyId, endpoint, level, time, msg, ...settings } = procs[0].settings;
    serverSettings = settings;
  }
  return { procs, endpoints: procs.map((p) => p.endpoint), stop: stopAll };
}

interface ScenarioRow {
  readonly scenario: string;
  readonly action: string;
  readonly storedSessions: number | undefined;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** rps divided by the ceiling's rps. */
  readonly ratio: number;
  /** Highest VmRSS sampled during the timed window, MB (the highest node's with two nodes). */
  readonly peakRssMb: number;
  /** CPU of the server process(es) in the window, in cores (1.0 = one core busy all the time). */
  readonly serverCpu: number;
  readonly generatorCpu: number;
  /** Whole machine busy fraction over both cores, other engineers' work included. */
  readonly machineBusy: number;
  /** Server CPU time per answered request, ms: less sensitive to a busy machine than req/s. */
  readonly serverCpuMsPerReq: number;
  readonly generatorCpuMsPerReq: number;
  /**
   * The ceiling's server CPU per request divided by this scenario's: the ratio a server given a
   * core of its own would reach if CPU were all it waited for.
   */
  readonly cpuRatio: number;
  readonly load: LoadResult;
  /** For Create and Delete: whether the store shows the work the 2xx answers claimed. */
  readonly stored?: StoredCheck;
}

interface StoredCheck {
  /** 2xx answers, warm-up included. */
  readonly answered: number;
  /** Of their sessions, those the store does not show done (missing after Create, still Created after Delete). */
  readonly missing: number;
  /** Sessions the store shows done in all (created, or deleted or Deleting): answered, plus those the generator dropped unanswered when it stopped. */
  readonly found: number;
  /** Distinct non-empty session ids among the answers: one per answer in a valid run. */
  readonly ids: number;
  readonly matches: boolean;
}

function storedCheck(r: ScenarioRow, missing: number, found: number): StoredCheck {
  const answered = r.load.okIncludingWarmup;
  // Each answered session is looked up by its id: a count could not tell a lost write from a
  // request carried out unanswered when the generator stopped. An id answered twice, or none (an
  // answer to a request the generator could not name), would be counted without being checked.
  const ids = new Set((r.load.okIds ?? []).filter((id) => id !== '')).size;
  const matches = missing === 0 && ids === answered;
  if (!matches)
    log(
      `${r.scenario}: of ${answered} sessions answered 2xx (${ids} distinct ids), the store does not show ${missing}`,
    );
  return { answered, missing, found, ids, matches };
}

/** A window of wrk as a row of the table, its ratios against the autocannon ceiling. */
function wrkRow(
  scenario: string,
  action: string,
  w: WrkResult,
  s: WindowStats,
  ceiling: ScenarioRow,
): ScenarioRow {
  const load: LoadResult = {
    label: scenario,
    signed: 1,
    signMs: 0,
    responses: w.requests,
    ok: w.requests - w.non2xx,
    okIncludingWarmup: w.requests - w.non2xx,
    non2xxWarmup: 0,
    unexpected: 0,
    statusCounts: {},
    connErrors: w.socketErrors,
    timeouts: 0,
    elapsedSec: w.seconds,
    rps: w.rps,
    latencyMs: { p50: w.p50Ms, p90: w.p90Ms, p99: w.p99Ms, max: w.maxMs, mean: w.meanMs },
    exhausted: false,
    generatorCpu: w.generatorCpu,
    errorSamples: [],
  };
  return rowOf(scenario, action, undefined, load, s, ceiling);
}

/** A scenario's row: the generator's answers and the server's window, against a ceiling. */
function rowOf(
  scenario: string,
  action: string,
  storedSessions: number | undefined,
  load: LoadResult,
  s: WindowStats,
  ceiling: CeilingRef | undefined,
): ScenarioRow {
  const rps = load.rps;
  const serverCpu = s.cpu.reduce((a, b) => a + b, 0);
  const perReq = (cores: number) => (rps > 0 ? Math.round(((cores * 1000) / rps) * 1000) / 1000 : 0);
  const serverCpuMsPerReq = perReq(serverCpu);
  return {
    scenario,
    action,
    storedSessions,
    rps,
    p50Ms: load.latencyMs.p50,
    p99Ms: load.latencyMs.p99,
    ratio: ceiling ? Math.round((rps / ceiling.rps) * 1000) / 1000 : 1,
    peakRssMb: Math.max(...s.peakRssMb),
    serverCpu: Math.round(serverCpu * 100) / 100,
    generatorCpu: load.generatorCpu,
    machineBusy: s.machineBusy,
    serverCpuMsPerReq,
    generatorCpuMsPerReq: perReq(load.generatorCpu),
    cpuRatio:
      ceiling && serverCpuMsPerReq > 0
        ? Math.round((ceiling.serverCpuMsPerReq / serverCpuMsPerReq) * 1000) / 1000
        : 1,
    load,
  };
}

interface CeilingRef {
  readonly rps: number;
  readonly serverCpuMsPerReq: number;
}

async function runScenario(
  opts: Options,
  tmp: string,
  scenario: string,
  action: string,
  endpoints: readonly string[],
  pids: readonly number[],
  recipe: Recipe,
  budget: number,
  cycle: boolean,
  ceiling: CeilingRef | undefined,
  storedSessions: number | undefined,
  expect: string | undefined,
): Promise<ScenarioRow> {
  const job: LoadJob = {
    label: scenario,
    endpoints,
    connections: opts.connections,
    durationSec: opts.durationSec,
    warmupSec: opts.warmupSec,
    budget: Math.max(opts.connections * 4, Math.ceil(budget)),
    cycle,
    recipe,
    ...(expect === undefined ? {} : { expect }),
  };
  const jobFile = join(tmp, `job-${scenario}.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const sampler = new WindowSampler(pids);
  let stats: ReturnType<WindowSampler['stop']> | undefined;
  log(`${scenario}: signing ${job.budget} requests`);
  let load: LoadResult;
  try {
    load = await runLoad(jobFile, job, {
      onSigned: (n, ms) => log(`${scenario}: signed ${n} in ${ms} ms; warm-up ${opts.warmupSec} s`),
      onStart: () => {
        log(`${scenario}: timed run ${opts.durationSec} s`);
        sampler.start();
      },
      onEnd: () => {
        stats = sampler.stop();
      },
    });
  } finally {
    // A generator that failed leaves the sampler's timer running, which would keep the run alive.
    stats ??= sampler.stop();
  }
  const s = stats;
  windows.push({ label: scenario, startUs: s.startUs, endUs: s.endUs });
  if (load.ok < load.responses)
    log(`${scenario}: ${load.responses - load.ok} answers were not 2xx: ${load.errorSamples.join(' | ')}`);
  if (load.unexpected > 0)
    log(`${scenario}: ${load.unexpected} 2xx answers lacked ${expect}: ${load.errorSamples.join(' | ')}`);
  if (load.exhausted)
    log(`${scenario}: the signed requests ran out after ${load.elapsedSec} s (rate still valid)`);
  return rowOf(scenario, action, storedSessions, load, s, ceiling);
}

interface PageRow extends PageStats {
  readonly storedSessions: number;
  readonly serverHwmMb: number;
  readonly serverRssMb: number;
}

interface Target {
  readonly name: string;
  readonly goal: string;
  /** For a throughput target, the least share of wrk's ceiling it asks for. */
  readonly minRatio?: number;
  readonly measured: string;
  readonly met: boolean;
  /**
   * What the floor (floor-server.mjs: about the least one node:http process does for the same
   * request) reached, against the lower of wrk's two ceilings, the one before the scenarios and the
   * one beside the floor, which gives the floor its better ratio. `outOfReach`: the goal is more
   * than 1.2 times what the floor reached, and the floor answered more than the server, so the goal
   * is beyond a server doing that work in one such process here (the margin is smaller than the
   * spread between runs: read it across runs).
   */
  readonly floor?: { readonly ratio: number; readonly cpuRatio: number; readonly outOfReach: boolean };
  /**
   * Why the measurement cannot judge the target, if it cannot: answers that were not 2xx or not
   * the one asked for, connection errors or timeouts, or a store that does not show the work.
   */
  readonly invalid?: string;
}

/** A row's req/s as a share of a ceiling's. */
function ratioTo(r: ScenarioRow, ceiling: ScenarioRow): number {
  return ceiling.rps > 0 ? Math.round((r.rps / ceiling.rps) * 1000) / 1000 : 0;
}

/** What makes a scenario's numbers unfit to judge a target; undefined when they are fit. */
function invalidity(r: ScenarioRow): string | undefined {
  const why: string[] = [];
  const non2xx = r.load.responses - r.load.ok;
  if (non2xx > 0) why.push(`${non2xx} answers not 2xx`);
  if (r.load.unexpected > 0) why.push(`${r.load.unexpected} wrong 2xx answers`);
  if (r.load.connErrors > 0) why.push(`${r.load.connErrors} connection errors`);
  if (r.load.timeouts > 0) why.push(`${r.load.timeouts} timeouts`);
  if (r.stored && !r.stored.matches)
    why.push(
      `of ${r.stored.answered} answered, ${r.stored.missing} not done in the store${r.stored.ids === r.stored.answered ? '' : `, ${r.stored.ids} distinct ids`}`,
    );
  return why.length > 0 ? why.join(', ') : undefined;
}

function evaluateTargets(
  rows: readonly ScenarioRow[],
  pages: readonly PageRow[],
  loaded: LoadedMemory | undefined,
): Target[] {
  const out: Target[] = [];
  const ceiling = rows.find((x) => x.scenario === 'ceiling');
  // Judged against the ceiling the generator did not limit, when wrk measured one.
  const wrk = rows.find((x) => x.scenario === 'ceiling-wrk');
  // The floor's ceiling: the lower of wrk's two, before the scenarios and beside the floor.
  const wrkEnd = rows.find((x) => x.scenario === 'ceiling-wrk-end');
  const lower = wrk && wrkEnd && wrkEnd.rps < wrk.rps ? wrkEnd : wrk;
  const ratioTarget = (scenario: string, goal: number, name: string, floorScenario?: string) => {
    const r = rows.find((x) => x.scenario === scenario);
    if (!r) return;
    const invalid =
      invalidity(r) ?? (ceiling ? invalidity(ceiling) : undefined) ?? (wrk ? invalidity(wrk) : undefined);
    const ratio = wrk ? ratioTo(r, wrk) : r.ratio;
    const f = floorScenario === undefined ? undefined : rows.find((x) => x.scenario === floorScenario);
    // A floor or a ceiling with any answer not 2xx says nothing.
    const floorRatio =
      f && lower && invalidity(f) === undefined && invalidity(lower) === undefined
        ? ratioTo(f, lower)
        : undefined;
    const floor =
      f && floorRatio !== undefined
        ? { ratio: floorRatio, cpuRatio: f.cpuRatio, outOfReach: floorRatio * 1.2 < goal && r.rps < f.rps }
        : undefined;
    out.push({
      name,
      goal: `>= ${goal}x ceiling`,
      minRatio: goal,
      measured: `${
        wrk
          ? `${ratio}x of wrk's (${r.ratio}x of autocannon's; by CPU per request: ${r.cpuRatio}x)`
          : `${r.ratio}x (by CPU per request: ${r.cpuRatio}x)`
      }${floor ? `; floor ${floor.ratio}x (by CPU: ${floor.cpuRatio}x)` : ''}`,
      met: invalid === undefined && ratio >= goal,
      ...(floor === undefined ? {} : { floor }),
      ...(invalid === undefined ? {} : { invalid }),
    });
  };
  ratioTarget('list', 0.6, 'signed read (List by id)', 'floor-list');
  ratioTarget('create', 0.4, 'signed durable Create', 'floor-create');
  ratioTarget('delete', 0.4, 'signed durable Delete');
  const small = Math.min(...pages.map((p) => p.storedSessions));
  const large = Math.max(...pages.map((p) => p.storedSessions));
  if (pages.length > 0 && large > small) {
    for (const mr of [100, 'default'] as const) {
      const a = pages.find((p) => p.storedSessions === small && p.maxResults === mr);
      const b = pages.find((p) => p.storedSessions === large && p.maxResults === mr);
      if (!a || !b) continue;
      for (const which of ['firstMs', 'deepMs'] as const) {
        const f = Math.round((b[which] / a[which]) * 100) / 100;
        out.push({
          name: `List page MaxResults=${mr} ${which === 'firstMs' ? 'first' : 'deep'}: ${large} vs ${small} stored`,
          goal: '<= 2x',
          measured: `${f}x (${b[which]} vs ${a[which]} ms)`,
          met: f <= 2,
        });
      }
    }
  }
  if (pages.length > 0) {
    const big = pages.filter((p) => p.storedSessions === large);
    const hwm = Math.max(...big.map((p) => p.serverHwmMb));
    out.push({
      name: `server peak RSS with ${large} stored, paging one request at a time`,
      goal: '< 150 MB',
      measured: `${hwm} MB`,
      met: hwm < 150,
    });
  }
  if (loaded) {
    const invalid = loaded.invalid;
    out.push({
      name: `server peak RSS with ${loaded.storedSessions} stored, under List load`,
      goal: '< 150 MB',
      measured: `${loaded.peakRssMb} MB (at ${loaded.rps} req/s)`,
      met: invalid === undefined && loaded.peakRssMb < 150,
      ...(invalid === undefined ? {} : { invalid }),
    });
  }
  return out;
}

function table(headers: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, ri) => {
      const line = r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
        .join('  ');
      return ri === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/**
 * What the durability and speed of a run depend on besides the code: where the SQLite file lives
 * (a tmpfs would make every commit RAM-only), and PostgreSQL's version and commit settings.
 */
async function environmentOf(opts: Options, tmp: string): Promise<Record<string, unknown>> {
  const TMPFS = 0x01021994;
  const env: Record<string, unknown> = {
    dataDirectory: tmp,
    dataFileSystem: statfsSync(tmp).type === TMPFS ? 'tmpfs (in memory)' : 'disk',
  };
  if (opts.database) {
    const s = await openStore({ location: opts.database, migrate: false });
    try {
      const show = async (q: string) =>
        Object.values((await sql.raw(q).execute(s.db)).rows[0] as Record<string, unknown>)[0];
      env.postgres = {
        version: await show('show server_version'),
        fsync: await show('show fsync'),
        synchronousCommit: await show('show synchronous_commit'),
      };
    } finally {
      await s.close();
    }
  }
  return env;
}

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    // What runs: the server's sources, the benchmark's own, the dependencies. Docs do not count.
    const dirty =
      execFileSync(
        'git',
        [
          'status',
          '--porcelain',
          '--',
          'src',
          'scripts',
          'bin',
          'package.json',
          'package-lock.json',
          'tsconfig.json',
          'tsconfig.build.json',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      ).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/**
 * The server starts with the account's own key (VPCMIRROR_ACCESS_KEY_ID/SECRET); the load is signed
 * by a RAM user of the same account unless --principal root, so that RAM policies are evaluated.
 */
function benchKeys(opts: Options): { serverKey: AccountKey; benchKey: AccountKey } {
  const serverKey = newKey(BENCH_ACCOUNT);
  return { serverKey, benchKey: opts.principal === 'root' ? serverKey : newKey(BENCH_ACCOUNT, 'user') };
}

/** One bare ceiling server per node, stopped by the clean-up however the run ends. */
async function startCeilings(opts: Options, tmp: string): Promise<ServerProcess[]> {
  const ceilings: ServerProcess[] = [];
  cleanups.push(async () => {
    for (const c of ceilings) await c.stop();
  });
  for (let i = 0; i < opts.nodes; i++) ceilings.push(await startCeiling(tmp));
  return ceilings;
}

async function throughputPhase(
  opts: Options,
  tmp: string,
): Promise<{ rows: ScenarioRow[]; ceilingRps: number }> {
  const rows: ScenarioRow[] = [];
  const { serverKey, benchKey } = benchKeys(opts);
  const wants = (s: Scenario) => opts.only.has(s);
  const window = opts.durationSec + opts.warmupSec;

  // 1. The ceiling, with the same generator, connections and node count.
  const measureCeiling = async (scenario: string, action: string, first: CeilingRef | undefined) => {
    const ceilings = await startCeilings(opts, tmp);
    const row = await runScenario(
      opts,
      tmp,
      scenario,
      action,
      ceilings.map((c) => c.endpoint),
      ceilings.map((c) => c.pid),
      { type: 'regions', key: benchKey },
      5000,
      true,
      first,
      undefined,
      undefined,
    );
    for (const c of ceilings) await c.stop();
    return row;
  };
  const ceiling = await measureCeiling('ceiling', 'bare node:http, fixed JSON', undefined);
  rows.push(ceiling);
  const ceilingRps = ceiling.rps;
  log(`ceiling: ${ceilingRps} requests/s`);
  /** One signed request sent by wrk again and again to servers that do not refuse a repeat. */
  const measureWrk = async (
    scenario: string,
    action: string,
    servers: readonly ServerProcess[],
    req: (endpoint: string) => SignedRequest,
  ): Promise<ScenarioRow> => {
    const endpoints = servers.map((c) => c.endpoint);
    const signed = req(endpoints[0] ?? '');
    if (opts.warmupSec > 0) await runWrk(tmp, endpoints, opts.connections, opts.warmupSec, signed);
    const sampler = new WindowSampler(servers.map((c) => c.pid));
    let s: ReturnType<WindowSampler['stop']> | undefined;
    log(`${scenario}: timed run ${opts.durationSec} s`);
    const w = await runWrk(tmp, endpoints, opts.connections, opts.durationSec, signed, {
      onStart: () => sampler.start(),
      onEnd: () => {
        s = sampler.stop();
      },
    });
    const stats = s ?? sampler.stop();
    log(`${scenario}: ${w.rps} requests/s (${w.generatorCpu} of a core for wrk)`);
    return wrkRow(scenario, action, w, stats, ceiling);
  };
  /** What wrk sends the bare server: the signed DescribeRegions autocannon's ceiling is sent. */
  const wrkCeilingRequest = (endpoint: string): SignedRequest =>
    signRequest({ endpoint, ...benchKey }, 'DescribeRegions', {});
  // The same bare server, sent the same signed request by wrk, which is light enough not to be
  // the limit itself: what node:http can answer on this machine.
  if (haveWrk()) {
    const ceilings = await startCeilings(opts, tmp);
    rows.push(
      await measureWrk(
        'ceiling-wrk',
        'bare node:http, fixed JSON, load from wrk',
        ceilings,
        wrkCeilingRequest,
      ),
    );
    for (const c of ceilings) await c.stop();
  } else log('ceiling-wrk: wrk is not installed (apt-get install wrk): only the generator-bound ceiling');
  if (![...opts.only].some((s) => s !== 'ceiling' && s !== 'pages')) return { rows, ceilingRps };

  // 2. The database the scenarios run on: N stored sessions, and empty accounts for Create.
  // Signed scenarios cannot go faster than the ceiling; budgets get a margin over that.
  let bound = ceilingRps * 1.2;
  const db = await createDb(opts, tmp, 'scenarios');
  let store = await db.open();
  log(`seeding ${opts.stored} stored sessions into ${redactUrl(opts.database ?? 'SQLite')}`);
  const t0 = performance.now();
  await seedKeys(store, [serverKey, benchKey]);
  await seedStored(store, 0, opts.stored, (d) => log(`  ${d} stored`));
  const createAccounts = wants('create')
    ? await seedCreateAccounts(store, createAccountsFor(bound * window), opts.principal)
    : [];
  const listIds = await benchListIds(store, benchListCount(opts.stored));
  const stored = await countSessions(store);
  await store.close();
  log(`seeded in ${Math.round((performance.now() - t0) / 1000)} s`);

  let nodes = await startNodes(opts, db, serverKey, 'scenarios');
  const pids = () => nodes.procs.map((p) => p.pid);
  const run = (
    scenario: string,
    action: string,
    recipe: Recipe,
    budget: number,
    storedNow: number | undefined,
    expect: string | undefined,
  ) =>
    runScenario(
      opts,
      tmp,
      scenario,
      action,
      nodes.endpoints,
      pids(),
      recipe,
      budget,
      false,
      ceiling,
      storedNow,
      expect,
    );
  /** Counts in the store with the servers stopped (an SQLite store admits one process at a time). */
  const countWith = async <T>(count: (store: Store) => Promise<T>): Promise<T> => {
    await nodes.stop();
    const s = await db.open();
    try {
      return await count(s);
    } finally {
      await s.close();
    }
  };

  if (wants('regions')) {
    const r = await run(
      'regions',
      'DescribeRegions',
      { type: 'regions', key: benchKey },
      bound * window,
      stored,
      '"Regions":',
    );
    rows.push(r);
    // Later scenarios do more work per request than DescribeRegions, but the machine may be less
    // busy by then: a wide margin (running out would only shorten the window).
    bound = Math.min(bound, r.rps * 2.5);
  }
  if (wants('list')) {
    rows.push(
      await run(
        'list',
        'ListTrafficMirrorSessions by TrafficMirrorSessionIds.1',
        { type: 'listById', key: benchKey, regionId: LIST_REGION, ids: listIds },
        bound * window,
        stored,
        // Each id is one stored session: an answer without it read some other store.
        '"TotalCount":"1"',
      ),
    );
  }
  let writeRps: number | undefined;
  if (wants('create')) {
    const r = await run(
      'create',
      'CreateTrafficMirrorSession',
      { type: 'create', accounts: createAccounts },
      bound * window,
      stored,
      '"TrafficMirrorSessionId":"tms-',
    );
    // Every Create answered 2xx, warm-up included, is a session in the store.
    const ids = r.load.okIds ?? [];
    const [present, found] = await countWith(async (s) => [
      await countSessions(s, { ids }),
      (await countSessions(s)) - stored,
    ]);
    rows.push({ ...r, stored: storedCheck(r, ids.length - present, found) });
    writeRps = r.rps;
  }
  if (wants('delete')) {
    // The sessions Delete consumes are seeded now, so that they were not part of what List read.
    await nodes.stop();
    // Delete does about what Create does; twice Create's rate leaves room. Every connection takes
    // a couple of requests before its first answer, hence the fixed part.
    const pool = Math.min(
      DELETE_POOL_MAX,
      opts.connections * 4 + Math.ceil(Math.min(bound, (writeRps ?? bound) * 2) * window),
    );
    store = await db.open();
    log(`seeding ${pool} sessions for Delete`);
    const items = await seedDeletePool(store, pool);
    const storedNow = await countSessions(store);
    await store.close();
    nodes = await startNodes(opts, db, serverKey, 'delete');
    const r = await run(
      'delete',
      'DeleteTrafficMirrorSession',
      { type: 'delete', key: benchKey, items },
      pool,
      storedNow,
      // A Delete answers nothing but its RequestId: what it did is checked in the store below.
      undefined,
    );
    // Every Delete answered 2xx left its session Deleting, or gone once its transition ran; no
    // session was Deleting before.
    const ids = r.load.okIds ?? [];
    const [stillCreated, found] = await countWith(async (s) => [
      await countSessions(s, { ids, status: 'Created' }),
      storedNow - (await countSessions(s)) + (await countSessions(s, { status: 'Deleting' })),
    ]);
    rows.push({ ...r, stored: storedCheck(r, stillCreated, found) });
  }
  await nodes.stop();
  // 3. The floor: about the least one node:http process can do for the same requests, on the same
  // store, and wrk's ceiling once more beside it. A floor that fails costs the run nothing else.
  if (db.sqliteFile !== undefined && opts.nodes === 1 && haveWrk() && (wants('list') || wants('create'))) {
    const floorDir = join(tmp, 'floor');
    mkdirSync(floorDir, { recursive: true });
    try {
      const floor = await startFloor(floorDir, db.sqliteFile, benchKey);
      cleanups.push(() => floor.stop());
      const floorWindow = async (
        scenario: string,
        action: string,
        req: (endpoint: string) => SignedRequest,
        expect: string,
      ) => {
        // One answer read whole first: a floor that answered something else would measure nothing.
        const check = await send(floor.endpoint, req(floor.endpoint));
        if (check.status !== 200 || !JSON.stringify(check.body).includes(expect))
          throw new Error(`the floor answered ${check.status} ${JSON.stringify(check.body)}`);
        rows.push(await measureWrk(scenario, action, [floor], req));
      };
      try {
        if (wants('list'))
          await floorWindow(
            'floor-list',
            'about the least a server does for a signed List by id (floor-server.mjs), load from wrk',
            (endpoint) =>
              signRequest({ endpoint, ...benchKey }, 'ListTrafficMirrorSessions', {
                RegionId: LIST_REGION,
                'TrafficMirrorSessionIds.1': listIds[0] ?? '',
              }),
            '"TotalCount":"1"',
          );
        if (wants('create'))
          await floorWindow(
            'floor-create',
            'about the least a server does for a signed durable Create (floor-server.mjs), load from wrk',
            (endpoint) =>
              signRequest({ endpoint, ...benchKey }, 'CreateTrafficMirrorSession', FLOOR_CREATE_PARAMS),
            '"TrafficMirrorSessionId":"tms-',
          );
      } finally {
        // Stopped before wrk's ceiling beside it, and however its windows ended.
        await floor.stop();
      }
      const ceilings = await startCeilings(opts, tmp);
      rows.push(
        await measureWrk(
          'ceiling-wrk-end',
          'bare node:http, fixed JSON, load from wrk, again beside the floor',
          ceilings,
          wrkCeilingRequest,
        ),
      );
      for (const c of ceilings) await c.stop();
    } catch (e) {
      log(`floor: not measured: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else if (wants('list') || wants('create'))
    log('floor: measured on SQLite with one node and wrk installed only');
  // 4. The ceiling once more. Ratios are taken against the first; this one shows how far the
  // machine itself moved during the run (its ratio is the drift: 1 means none).
  const end = await measureCeiling('ceiling-end', 'bare node:http again, after the scenarios', ceiling);
  rows.push(end);
  log(`ceiling at the end: ${end.rps} requests/s (${end.ratio}x the first)`);
  if (Math.abs(end.ratio - 1) > 0.1)
    log('the machine itself changed speed during this run: read its ratios with that much doubt');
  return { rows, ceilingRps };
}

/** Peak memory of the server(s) under List load with the most sessions the run stores. */
interface LoadedMemory {
  readonly storedSessions: number;
  readonly rps: number;
  readonly peakRssMb: number;
  /** Answers not 2xx, or 2xx without the one session asked for. */
  readonly wrongAnswers: number;
  /** Why the window cannot judge the target, as for a throughput scenario. */
  readonly invalid?: string;
}

async function pagesPhase(
  opts: Options,
  tmp: string,
): Promise<{ pages: PageRow[]; loaded: LoadedMemory | undefined }> {
  const out: PageRow[] = [];
  let loaded: LoadedMemory | undefined;
  const { serverKey, benchKey: key } = benchKeys(opts);
  const db = await createDb(opts, tmp, 'pages');
  const largest = Math.max(...opts.sizes);
  let have = 0;
  for (const size of opts.sizes) {
    const store = await db.open();
    if (have === 0) await seedKeys(store, [serverKey, key]);
    log(`pages: growing the store from ${have} to ${size} sessions`);
    const t0 = performance.now();
    await seedStored(store, have, size, (d) => {
      if (d % 200_000 === 0 || d === size) log(`  ${d} stored`);
    });
    have = size;
    const expected = benchListCount(size);
    const ids = size === largest ? await benchListIds(store, expected) : [];
    await store.close();
    log(`pages: seeded in ${Math.round((performance.now() - t0) / 1000)} s`);
    const nodes = await startNodes(opts, db, serverKey, `pages-${size}`);
    for (const mr of [100, 'default'] as const) {
      log(
        `pages: ${size} stored, MaxResults=${mr}${opts.nodes === 2 ? ', alternating between the nodes' : ''}`,
      );
      const stats = await measurePages(nodes.endpoints, key, LIST_REGION, mr, opts.repeats);
      if (stats.listed !== expected)
        throw new Error(`pages: the walk listed ${stats.listed} sessions, the store holds ${expected}`);
      const mems = nodes.procs.map((p) => memoryOf(p.pid));
      out.push({
        ...stats,
        storedSessions: size,
        serverHwmMb: Math.round(Math.max(...mems.map((m) => m.hwmMb)) * 10) / 10,
        serverRssMb: Math.round(Math.max(...mems.map((m) => m.rssMb)) * 10) / 10,
      });
    }
    if (size === largest) {
      // The same servers, now under the List load of the throughput phase: memory with the most
      // sessions stored is also what a busy server holds, not only a server paging one at a time.
      const r = await runScenario(
        opts,
        tmp,
        `list-${size}`,
        `ListTrafficMirrorSessions by TrafficMirrorSessionIds.1, ${size} stored`,
        nodes.endpoints,
        nodes.procs.map((p) => p.pid),
        { type: 'listById', key, regionId: LIST_REGION, ids },
        LOADED_RPS_BOUND * (opts.durationSec + opts.warmupSec),
        false,
        undefined,
        size,
        '"TotalCount":"1"',
      );
      const invalid = invalidity(r);
      loaded = {
        storedSessions: size,
        rps: r.rps,
        peakRssMb: r.peakRssMb,
        wrongAnswers: r.load.responses - r.load.ok + r.load.unexpected,
        ...(invalid === undefined ? {} : { invalid }),
      };
      log(`pages: ${r.rps} List requests/s with ${size} stored, peak RSS ${r.peakRssMb} MB`);
    }
    await nodes.stop();
  }
  return { pages: out, loaded };
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  mkdirSync(RESULTS, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'vpcmirror-bench-'));
  if (!opts.keep) cleanups.unshift(async () => rmSync(tmp, { recursive: true, force: true }));
  const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // A second signal (a second Ctrl-C) while cleaning up: stop now; the exit handler still
      // kills the children.
      if (interrupted) process.exit(SIGNAL_EXIT[sig]);
      interrupted = true;
      log(`${sig}: cleaning up`);
      void cleanUp().then(() => process.exit(SIGNAL_EXIT[sig]));
    });
  }
  // However the run ends, no server, ceiling or generator outlives it.
  process.on('exit', killChildren);
  process.on('uncaughtException', (err) => {
    log(`failed: ${err.stack ?? err.message}`);
    void cleanUp().then(() => process.exit(1));
  });
  // The server runs compiled, as in production: the tsx loader of `npm start` costs some 50 MB of
  // memory and start-up time that a deployment does not pay.
  log('building the server (npm run build)');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const store = opts.database ? 'postgres' : 'sqlite';
  const environment = await environmentOf(opts, tmp);
  log(
    `store ${store}${opts.nodes === 2 ? ' (2 nodes)' : ''}, ${opts.connections} connections, ${opts.durationSec} s per scenario, data in ${tmp}`,
  );

  let rows: ScenarioRow[] = [];
  let ceilingRps: number | undefined;
  if (THROUGHPUT.some((s) => opts.only.has(s))) ({ rows, ceilingRps } = await throughputPhase(opts, tmp));
  const { pages, loaded } = opts.only.has('pages')
    ? await pagesPhase(opts, tmp)
    : { pages: [], loaded: undefined };
  await cleanUp();

  const profileSummaries: ProfileSummary[] = [];
  for (const file of profiles) {
    if (!readdirSync(RESULTS).includes(file.slice(RESULTS.length + 1))) {
      log(`no profile at ${file}`);
      continue;
    }
    const inside = windowsOf(file, windows);
    if (inside.length === 0) profileSummaries.push(summarizeProfile(file));
    for (const w of inside) profileSummaries.push(summarizeProfile(file, 15, w));
  }
  const targets = evaluateTargets(rows, pages, loaded);
  // Near a whole core, the generator, not the bare server, set the ceiling: every ratio to it is
  // then an upper bound of the server's, and the ratio by CPU per request the fairer one.
  const ceilingRow = rows.find((r) => r.scenario === 'ceiling');
  const wrkRowOf = rows.find((r) => r.scenario === 'ceiling-wrk');
  const generatorBound = ceilingRow !== undefined && ceilingRow.generatorCpu >= 0.9;
  const git = gitInfo();
  const result = {
    date: new Date().toISOString(),
    git,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: Math.round(totalmem() / 1e9),
      node: process.version,
    },
    options: {
      store,
      nodes: opts.nodes,
      database: opts.database ? redactUrl(opts.database) : 'sqlite (temporary data directory)',
      durationSec: opts.durationSec,
      warmupSec: opts.warmupSec,
      connections: opts.connections,
      principal: opts.principal,
      storedDuringScenarios: opts.stored,
      sizes: opts.sizes,
      repeats: opts.repeats,
      quick: opts.quick,
    },
    environment,
    server: serverSettings,
    ceilingRps,
    ceilingGeneratorBound: generatorBound,
    wrkCeilingRps: wrkRowOf?.rps,
    scenarios: rows.map(({ load, ...r }) => ({
      ...r,
      ...(wrkRowOf ? { ratioToWrkCeiling: ratioTo({ load, ...r }, wrkRowOf) } : {}),
      p90Ms: load.latencyMs.p90,
      maxMs: load.latencyMs.max,
      responses: load.responses,
      non2xx: load.responses - load.ok,
      unexpected: load.unexpected,
      non2xxWarmup: load.non2xxWarmup,
      okIncludingWarmup: load.okIncludingWarmup,
      statusCounts: load.statusCounts,
      elapsedSec: load.elapsedSec,
      signedBeforeRun: load.signed,
      signMs: load.signMs,
      exhausted: load.exhausted,
      connErrors: load.connErrors,
      timeouts: load.timeouts,
      errorSamples: load.errorSamples,
    })),
    pages,
    loadedMemory: loaded,
    targets,
    profiles: profileSummaries,
  };
  const file = join(
    RESULTS,
    `${stamp}-${store}${opts.nodes === 2 ? '-2nodes' : ''}${opts.quick ? '-quick' : ''}.json`,
  );
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  const out: string[] = [''];
  if (rows.length > 0) {
    out.push(
      table(
        [
          'scenario',
          'stored',
          'req/s',
          'p50 ms',
          'p99 ms',
          'x ceiling',
          'x wrk ceiling',
          'peak RSS MB',
          'server CPU',
          'srv ms/req',
          'x ceiling (CPU)',
          'gen CPU',
          'busy',
          'non-2xx',
          'wrong 2xx',
        ],
        rows.map((r) => [
          r.scenario,
          r.storedSessions ?? '',
          r.rps,
          r.p50Ms,
          r.p99Ms,
          r.ratio,
          wrkRowOf ? ratioTo(r, wrkRowOf) : '',
          r.peakRssMb,
          r.serverCpu,
          r.serverCpuMsPerReq,
          r.cpuRatio,
          r.generatorCpu,
          r.machineBusy,
          r.load.responses - r.load.ok,
          r.load.unexpected,
        ]),
      ),
      '',
    );
    if (generatorBound)
      out.push(
        `autocannon used ${ceilingRow?.generatorCpu} of a core against the bare ceiling: that ceiling is the generator's limit, and`,
        wrkRowOf
          ? `'x ceiling' an upper bound. wrk reached ${wrkRowOf.rps} req/s with ${wrkRowOf.generatorCpu} of a core: the targets are judged on 'x wrk ceiling'.`
          : "'x ceiling' an upper bound; 'x ceiling (CPU)' does not depend on the generator. Install wrk for a ceiling it does not limit.",
        '',
      );
  }
  if (loaded)
    out.push(
      `Under List load with ${loaded.storedSessions} stored: ${loaded.rps} req/s, peak RSS ${loaded.peakRssMb} MB, ${loaded.wrongAnswers} wrong answers`,
      '',
    );
  if (pages.length > 0) {
    out.push(
      table(
        [
          'stored',
          'MaxResults',
          'listed',
          'pages',
          'first ms',
          'deep ms',
          'deep at',
          'walk mean ms',
          'HWM MB',
        ],
        pages.map((p) => [
          p.storedSessions,
          p.maxResults,
          p.listed,
          p.pages,
          p.firstMs,
          p.deepMs,
          p.deepOffset,
          p.walkMeanMs,
          p.serverHwmMb,
        ]),
      ),
      '',
    );
  }
  if (targets.length > 0) {
    out.push(
      table(
        ['target', 'goal', 'measured', ''],
        targets.map((t) => [
          t.name,
          t.goal,
          t.measured,
          t.invalid ? `INVALID: ${t.invalid}` : t.met ? 'met' : 'MISSED',
        ]),
      ),
      '',
    );
  }
  for (const t of targets) {
    if (t.floor === undefined || t.met) continue;
    out.push(
      t.floor.outOfReach
        ? `${t.name}: the floor, about the least one node:http process reading SQLite must do for it, reached ${t.floor.ratio}x of wrk's ceiling: ${t.goal} is out of reach here for any server doing that work that way.`
        : t.floor.ratio >= (t.minRatio ?? Number.POSITIVE_INFINITY)
          ? `${t.name}: the floor reached ${t.floor.ratio}x of wrk's ceiling, at or above the goal: what is missing is in the work the server does beyond the floor's.`
          : `${t.name}: the floor reached ${t.floor.ratio}x of wrk's ceiling, under the goal but not by the margin, or not above the server: it does not settle whether ${t.goal} is within reach.`,
    );
  }
  if (targets.some((t) => t.floor !== undefined && !t.met)) out.push('');
  for (const p of profileSummaries) out.push(formatProfile(p), '');
  out.push(`results: ${file}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    // The signal's handler cleans up and exits.
    if (interrupted) return;
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await cleanUp();
    process.exit(1);
  },
);
