/**
 * `npm run bench`: throughput and latency of the real server, as a child process with default
 * settings (SQLite file or PostgreSQL, signature and nonce checks, RAM), against a bare node:http
 * ceiling measured in the same run with the same load generator. Prints a table and writes the same
 * numbers as JSON under bench/results/. docs/benchmarks.md explains every number.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openStore, redactUrl, type Store } from '../src/store/store.js';
import type { LoadJob, LoadResult, Recipe } from './bench/job.js';
import {
  type AccountKey,
  BENCH_ACCOUNT,
  benchListCount,
  createAccountsFor,
  DELETE_POOL_MAX,
  LIST_REGION,
  type Principal,
} from './bench/layout.js';
import { measurePages, type PageStats } from './bench/pages.js';
import {
  memoryOf,
  runLoad,
  type ServerProcess,
  startCeiling,
  startVpcmirror,
  WindowSampler,
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
  newKey,
  seedCreateAccounts,
  seedDeletePool,
  seedKeys,
  seedStored,
  storedCount,
} from './bench/seed.js';

const ROOT = new URL('../', import.meta.url).pathname;
const RESULTS = join(ROOT, 'bench/results');

const THROUGHPUT = ['ceiling', 'regions', 'list', 'create', 'delete'] as const;
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
  --repeats <n>         repeats of each timed page (default 21)
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
  const num = (v: string | undefined, fallback: number, what: string): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${what} must be a number, got "${v}"`);
    return n;
  };
  const list = (v: string | undefined) =>
    v
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const only = list(values.only) ?? [...ALL_SCENARIOS];
  for (const s of only) {
    if (!(ALL_SCENARIOS as readonly string[]).includes(s))
      throw new UsageError(`unknown scenario "${s}" (known: ${ALL_SCENARIOS.join(', ')})`);
  }
  const sizes = (list(values.sizes) ?? (quick ? ['1000', '10000'] : ['1000', '100000', '1000000'])).map((s) =>
    num(s, 0, '--sizes'),
  );
  const nodes = num(values.nodes, 1, '--nodes');
  const principal = values.principal ?? 'user';
  if (principal !== 'user' && principal !== 'root') throw new UsageError('--principal must be user or root');
  if (nodes !== 1 && nodes !== 2) throw new UsageError('--nodes must be 1 or 2');
  if (nodes === 2 && !values.database)
    throw new UsageError('--nodes 2 needs --database postgres://… (shared store)');
  if (values.database && !/^postgres(ql)?:\/\//.test(values.database))
    throw new UsageError('--database must be a postgres:// URL (SQLite is the default)');
  return {
    durationSec: num(values.duration, quick ? 2 : 10, '--duration'),
    warmupSec: num(values.warmup, quick ? 0.5 : 2, '--warmup'),
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
  open(): Promise<Store>;
}

async function createDb(opts: Options, tmp: string, name: string): Promise<BenchDb> {
  const dataDirs = Array.from({ length: opts.nodes }, (_, i) => join(tmp, `${name}-node${i + 1}`));
  for (const d of dataDirs) mkdirSync(d, { recursive: true });
  const url = opts.database;
  if (!url) {
    const file = join(dataDirs[0] ?? tmp, 'vpcmirror.sqlite');
    return { serverLocation: undefined, dataDirs, open: () => openStore({ location: file }) };
  }
  const schema = `vpcmirror_bench_${randomBytes(5).toString('hex')}`;
  const withPath = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const open = () => openStore({ location: url, schema });
  cleanups.push(async () => {
    const s = await openStore({ location: url, migrate: false });
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(s.db);
    await s.close();
  });
  return { serverLocation: withPath, dataDirs, open };
}

interface Nodes {
  readonly procs: readonly ServerProcess[];
  readonly endpoints: readonly string[];
  stop(): Promise<void>;
}

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
  };
  const jobFile = join(tmp, `job-${scenario}.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const sampler = new WindowSampler(pids);
  let stats: ReturnType<WindowSampler['stop']> | undefined;
  log(`${scenario}: signing ${job.budget} requests`);
  const load = await runLoad(jobFile, job, {
    onSigned: (n, ms) => log(`${scenario}: signed ${n} in ${ms} ms; warm-up ${opts.warmupSec} s`),
    onStart: () => {
      log(`${scenario}: timed run ${opts.durationSec} s`);
      sampler.start();
    },
    onEnd: () => {
      stats = sampler.stop();
    },
  });
  const s = stats ?? sampler.stop();
  windows.push({ label: scenario, startUs: s.startUs, endUs: s.endUs });
  if (load.ok < load.responses)
    log(`${scenario}: ${load.responses - load.ok} answers were not 2xx: ${load.errorSamples.join(' | ')}`);
  if (load.exhausted)
    log(`${scenario}: the signed requests ran out after ${load.elapsedSec} s (rate still valid)`);
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

interface PageRow extends PageStats {
  readonly storedSessions: number;
  readonly serverHwmMb: number;
  readonly serverRssMb: number;
}

interface Target {
  readonly name: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

function evaluateTargets(rows: readonly ScenarioRow[], pages: readonly PageRow[]): Target[] {
  const out: Target[] = [];
  const ratioTarget = (scenario: string, goal: number, name: string) => {
    const r = rows.find((x) => x.scenario === scenario);
    if (r)
      out.push({
        name,
        goal: `>= ${goal}x ceiling`,
        measured: `${r.ratio}x (by CPU per request: ${r.cpuRatio}x)`,
        met: r.ratio >= goal,
      });
  };
  ratioTarget('list', 0.6, 'signed read (List by id)');
  ratioTarget('create', 0.4, 'signed durable Create');
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
    const big = pages.filter((p) => p.storedSessions === large);
    const hwm = Math.max(...big.map((p) => p.serverHwmMb));
    out.push({
      name: `server peak RSS with ${large} stored`,
      goal: '< 150 MB',
      measured: `${hwm} MB`,
      met: hwm < 150,
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

function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
        cwd: ROOT,
        encoding: 'utf8',
      }).trim() !== '';
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
    const ceilings: ServerProcess[] = [];
    for (let i = 0; i < opts.nodes; i++) ceilings.push(await startCeiling(tmp));
    cleanups.push(async () => {
      for (const c of ceilings) await c.stop();
    });
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
    );
    for (const c of ceilings) await c.stop();
    return row;
  };
  const ceiling = await measureCeiling('ceiling', 'bare node:http, fixed JSON', undefined);
  rows.push(ceiling);
  const ceilingRps = ceiling.rps;
  log(`ceiling: ${ceilingRps} requests/s`);
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
  const stored = await storedCount(store);
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
    );

  if (wants('regions')) {
    const r = await run(
      'regions',
      'DescribeRegions',
      { type: 'regions', key: benchKey },
      bound * window,
      stored,
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
    );
    rows.push(r);
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
    const storedNow = await storedCount(store);
    await store.close();
    nodes = await startNodes(opts, db, serverKey, 'delete');
    rows.push(
      await run(
        'delete',
        'DeleteTrafficMirrorSession',
        { type: 'delete', key: benchKey, items },
        pool,
        storedNow,
      ),
    );
  }
  await nodes.stop();
  // 3. The ceiling once more. Ratios are taken against the first; this one shows how far the
  // machine itself moved during the run (its ratio is the drift: 1 means none).
  const end = await measureCeiling('ceiling-end', 'bare node:http again, after the scenarios', ceiling);
  rows.push(end);
  log(`ceiling at the end: ${end.rps} requests/s (${end.ratio}x the first)`);
  if (Math.abs(end.ratio - 1) > 0.1)
    log('the machine itself changed speed during this run: read its ratios with that much doubt');
  return { rows, ceilingRps };
}

async function pagesPhase(opts: Options, tmp: string): Promise<PageRow[]> {
  const out: PageRow[] = [];
  const { serverKey, benchKey: key } = benchKeys(opts);
  const db = await createDb({ ...opts, nodes: 1 }, tmp, 'pages');
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
    await store.close();
    log(`pages: seeded in ${Math.round((performance.now() - t0) / 1000)} s`);
    const nodes = await startNodes({ ...opts, nodes: 1 }, db, serverKey, `pages-${size}`);
    const node = nodes.procs[0];
    if (!node) throw new Error('no server');
    for (const mr of [100, 'default'] as const) {
      log(`pages: ${size} stored, MaxResults=${mr}`);
      const stats = await measurePages(node.endpoint, key, LIST_REGION, mr, opts.repeats);
      const mem = memoryOf(node.pid);
      out.push({
        ...stats,
        storedSessions: size,
        serverHwmMb: Math.round(mem.hwmMb * 10) / 10,
        serverRssMb: Math.round(mem.rssMb * 10) / 10,
      });
    }
    await nodes.stop();
  }
  return out;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  mkdirSync(RESULTS, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'vpcmirror-bench-'));
  if (!opts.keep) cleanups.unshift(async () => rmSync(tmp, { recursive: true, force: true }));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      log(`${sig}: cleaning up`);
      void cleanUp().then(() => process.exit(130));
    });
  }
  // The server runs compiled, as in production: the tsx loader of `npm start` costs some 50 MB of
  // memory and start-up time that a deployment does not pay.
  log('building the server (npm run build)');
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: process.cwd(), stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
  const store = opts.database ? 'postgres' : 'sqlite';
  log(
    `store ${store}${opts.nodes === 2 ? ' (2 nodes)' : ''}, ${opts.connections} connections, ${opts.durationSec} s per scenario, data in ${tmp}`,
  );

  let rows: ScenarioRow[] = [];
  let ceilingRps: number | undefined;
  if (THROUGHPUT.some((s) => opts.only.has(s))) ({ rows, ceilingRps } = await throughputPhase(opts, tmp));
  const pages = opts.only.has('pages') ? await pagesPhase(opts, tmp) : [];
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
  const targets = evaluateTargets(rows, pages);
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
    ceilingRps,
    scenarios: rows.map(({ load, ...r }) => ({
      ...r,
      p90Ms: load.latencyMs.p90,
      maxMs: load.latencyMs.max,
      responses: load.responses,
      non2xx: load.responses - load.ok,
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
          'req/s',
          'p50 ms',
          'p99 ms',
          'x ceiling',
          'peak RSS MB',
          'server CPU',
          'srv ms/req',
          'x ceiling (CPU)',
          'gen CPU',
          'busy',
          'non-2xx',
        ],
        rows.map((r) => [
          r.scenario,
          r.rps,
          r.p50Ms,
          r.p99Ms,
          r.ratio,
          r.peakRssMb,
          r.serverCpu,
          r.serverCpuMsPerReq,
          r.cpuRatio,
          r.generatorCpu,
          r.machineBusy,
          r.load.responses - r.load.ok,
        ]),
      ),
      '',
    );
  }
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
        targets.map((t) => [t.name, t.goal, t.measured, t.met ? 'met' : 'MISSED']),
      ),
      '',
    );
  }
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
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await cleanUp();
    process.exit(1);
  },
);
