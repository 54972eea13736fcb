/**
 * The load generator, run as its own process: `node --import tsx scripts/bench/load.ts <job.json>`.
 * It signs every request of the job first (each with its own nonce, V3, like the SDKs), then drives
 * the server with autocannon, handing each connection the next unused signed request. Signing
 * inside the timed window would make the generator, not the server, the thing measured.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type SignedRequest, signRequest } from '../../src/cli/client.js';
import type { LatencySummary, LoadEvent, LoadJob, LoadResult, Recipe } from './job.js';
import { createSlot, REGIONS } from './layout.js';

interface ReqData {
  port?: number | string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonOptions {
  url: string | string[];
  connections: number;
  duration: number;
  timeout: number;
  sampleInt: number;
  requests: Array<{
    /** `context` is the connection's: with one request at a time, the answer's own request's. */
    setupRequest: (req: ReqData, context: RequestContext) => ReqData;
    onResponse?: (status: number, body: string, context: RequestContext) => void;
  }>;
}

interface RequestContext {
  id?: string;
}

interface AutocannonRun {
  stop(): void;
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'reqError', fn: (err: Error) => void): void;
}

interface AutocannonSummary {
  readonly errors: number;
  readonly timeouts: number;
}

type Autocannon = (
  opts: AutocannonOptions,
  cb: (err: Error | null, result: AutocannonSummary) => void,
) => AutocannonRun;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function emit(e: LoadEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

/** The action and parameters of request number `i` of a recipe. */
function planOf(recipe: Recipe): {
  total: number;
  at: (i: number) => { keyIndex: number; action: string; params: Record<string, string> };
  keys: ReadonlyArray<{ accessKeyId: string; accessKeySecret: string }>;
} {
  switch (recipe.type) {
    case 'regions':
      return {
        total: Number.POSITIVE_INFINITY,
        keys: [recipe.key],
        at: () => ({ keyIndex: 0, action: 'DescribeRegions', params: {} }),
      };
    case 'listById':
      return {
        total: Number.POSITIVE_INFINITY,
        keys: [recipe.key],
        at: (i) => ({
          keyIndex: 0,
          action: 'ListTrafficMirrorSessions',
          params: {
            RegionId: recipe.regionId,
            'TrafficMirrorSessionIds.1': recipe.ids[i % recipe.ids.length] ?? '',
          },
        }),
      };
    case 'create': {
      const accounts = recipe.accounts;
      const run = Date.now().toString(36);
      return {
        total: accounts.length * REGIONS.length * 1000,
        keys: accounts.map((a) => a.key),
        at: (i) => {
          const slot = createSlot(i, accounts.length);
          const account = accounts[slot.account];
          return {
            keyIndex: slot.account,
            action: 'CreateTrafficMirrorSession',
            params: {
              RegionId: REGIONS[slot.regionIndex] ?? '',
              // A source ENI of its own per session: an ENI may belong to only a few sessions.
              'TrafficMirrorSourceIds.1': `eni-src${run}${i.toString(36).padStart(8, '0')}`,
              TrafficMirrorTargetId: `eni-tgt${run}${slot.account}r${slot.regionIndex}`,
              TrafficMirrorTargetType: 'NetworkInterface',
              TrafficMirrorFilterId: account?.filters[slot.regionIndex] ?? '',
              Priority: String(slot.priority),
            },
          };
        },
      };
    }
    case 'delete':
      return {
        total: recipe.items.length,
        keys: [recipe.key],
        at: (i) => {
          const [regionId, id] = recipe.items[i] ?? ['', ''];
          return {
            keyIndex: 0,
            action: 'DeleteTrafficMirrorSession',
            params: { RegionId: regionId, TrafficMirrorSessionId: id },
          };
        },
      };
  }
}

interface Pool {
  readonly reqs: SignedRequest[];
  /** The session each request names, for a Delete (its 2xx answer names none). */
  readonly ids: string[];
  next: number;
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** Signs the whole budget, dealt round-robin to the nodes, each signed for its own host. */
function signAll(job: LoadJob): Map<number, Pool> {
  const plan = planOf(job.recipe);
  const total = Math.min(job.budget, plan.total);
  const pools = new Map<number, Pool>();
  for (const e of job.endpoints) pools.set(portOf(e), { reqs: [], ids: [], next: 0 });
  const now = new Date();
  for (let i = 0; i < total; i++) {
    const endpoint = job.endpoints[i % job.endpoints.length] ?? '';
    const step = plan.at(i);
    const key = plan.keys[step.keyIndex];
    if (!key) throw new Error(`no key ${step.keyIndex}`);
    const signed = signRequest(
      { endpoint, accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
      step.action,
      step.params,
      now,
    );
    const pool = pools.get(portOf(endpoint));
    pool?.reqs.push(signed);
    pool?.ids.push(step.params.TrafficMirrorSessionId ?? '');
  }
  return pools;
}

export function summarize(values: Float64Array): LatencySummary {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  let sum = 0;
  for (const v of sorted) sum += v;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(sum / sorted.length),
  };
}

/** 2xx answers of warm-up and timed run together: what the store must show done afterwards. */
let okAll = 0;
/** Their sessions, for Create and Delete. */
const okIds: string[] = [];
/** A Create's answer names the session it made. */
const CREATED_ID = /"TrafficMirrorSessionId":"(tms-[^"]+)"/;

interface Window {
  counting: boolean;
  exhausted: boolean;
  /** performance.now() when the window closed. */
  endedAt: number;
  onExhausted: () => void;
  onClose: () => void;
}

function runOnce(
  job: LoadJob,
  pools: Map<number, Pool>,
  seconds: number,
  window: Window,
  /** Share of each pool this run may use: the warm-up leaves the rest to the timed run. */
  share: number,
  record: (status: number, ms: number) => void,
  check: (status: number, body: string, context: RequestContext) => void,
): Promise<AutocannonSummary> {
  return new Promise((resolve, reject) => {
    let instance: AutocannonRun | undefined;
    let stopTimer: NodeJS.Timeout | undefined;
    const close = () => {
      if (window.endedAt !== 0) return;
      window.counting = false;
      window.endedAt = performance.now();
      window.onClose();
      if (stopTimer) clearTimeout(stopTimer);
      // Clients are built (and take their first request) inside autocannon(): the pool may run
      // out before there is an instance to stop.
      if (instance) instance.stop();
    };
    window.onExhausted = () => {
      window.exhausted = true;
      close();
    };
    const limits = new Map([...pools].map(([port, p]) => [port, Math.floor(p.reqs.length * share)]));
    instance = autocannon(
      {
        url: job.endpoints.map((e) => `http://${e}`),
        connections: job.connections,
        // The window is closed by our own timer below; autocannon only has to outlast it.
        duration: seconds + 5,
        timeout: 30,
        sampleInt: 100,
        requests: [
          {
            setupRequest: (req, context) => {
              const port = Number(req.port);
              const pool = pools.get(port);
              if (!pool) throw new Error(`no signed requests for port ${port}`);
              if (job.cycle && pool.next >= pool.reqs.length) pool.next = 0;
              let r = pool.next < (limits.get(port) ?? 0) ? pool.reqs[pool.next] : undefined;
              if (r) {
                const id = pool.ids[pool.next];
                if (id !== undefined) context.id = id;
                pool.next++;
              } else {
                // Out of signed requests: resend the last one (refused as a replay, and not
                // counted) until the run stops.
                r = pool.reqs[Math.max(0, pool.next - 1)];
                window.onExhausted();
              }
              if (!r) throw new Error(`no signed requests for port ${port}`);
              return { ...req, method: r.method, path: r.path, headers: r.headers, body: r.body };
            },
            onResponse: check,
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) okAll++;
      if (window.counting) record(status, ms);
    });
    if (window.endedAt !== 0) instance.stop();
    else stopTimer = setTimeout(close, seconds * 1000);
  });
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) throw new Error('usage: load.ts <job.json>');
  const job = JSON.parse(readFileSync(path, 'utf8')) as LoadJob;

  const t0 = performance.now();
  const pools = signAll(job);
  const signed = [...pools.values()].reduce((n, p) => n + p.reqs.length, 0);
  const signMs = Math.round(performance.now() - t0);
  emit({ event: 'signed', count: signed, ms: signMs });

  const ignore = () => undefined;
  // A plain array: in cycle mode (the ceiling) there are more answers than signed requests.
  const latencies: number[] = [];
  let responses = 0;
  let ok = 0;
  let unexpected = 0;
  let non2xxWarmup = 0;
  const statusCounts: Record<string, number> = {};
  const errorSamples: string[] = [];
  let cpuAtClose: NodeJS.CpuUsage | undefined;
  let cpu0 = process.cpuUsage();
  // Counting once the timed run starts (the warm-up runs first, with its own window).
  const window: Window = {
    counting: false,
    exhausted: false,
    endedAt: 0,
    onExhausted: ignore,
    // The parent stops sampling the server now, not when autocannon has wound down.
    onClose: () => {
      cpuAtClose = process.cpuUsage(cpu0);
      emit({ event: 'end' });
    },
  };
  const record = (status: number, ms: number) => {
    latencies.push(ms);
    responses++;
    if (status >= 200 && status < 300) ok++;
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
  };
  // Every answer, warm-up included, is checked; the samples are the window's.
  const check = (status: number, body: string, context: RequestContext) => {
    if (status >= 200 && status < 300) {
      if (job.recipe.type === 'create') okIds.push(CREATED_ID.exec(body)?.[1] ?? '');
      else if (job.recipe.type === 'delete') okIds.push(context.id ?? '');
    }
    const wrong = status >= 300 || (status >= 200 && job.expect !== undefined && !body.includes(job.expect));
    if (!wrong) return;
    if (status < 300) unexpected++;
    else if (!window.counting) non2xxWarmup++;
    if (window.counting && errorSamples.length < 5) errorSamples.push(`${status} ${body.slice(0, 300)}`);
  };

  if (job.warmupSec > 0) {
    const warm: Window = {
      counting: false,
      exhausted: false,
      endedAt: 0,
      onExhausted: ignore,
      onClose: ignore,
    };
    await runOnce(job, pools, job.warmupSec, warm, job.cycle ? 1 : 0.5, ignore, check);
  }

  emit({ event: 'start' });
  window.counting = true;
  cpu0 = process.cpuUsage();
  const started = performance.now();
  const summary = await runOnce(job, pools, job.durationSec, window, 1, record, check);
  const endedAt = window.endedAt || performance.now();
  const cpu = cpuAtClose ?? process.cpuUsage(cpu0);
  const cpuWallMs = endedAt - started;

  const elapsedSec = (endedAt - started) / 1000;
  const result: LoadResult = {
    label: job.label,
    signed,
    signMs,
    responses,
    ok,
    okIncludingWarmup: okAll,
    ...(job.recipe.type === 'create' || job.recipe.type === 'delete' ? { okIds } : {}),
    unexpected,
    non2xxWarmup,
    statusCounts,
    connErrors: summary.errors - summary.timeouts,
    timeouts: summary.timeouts,
    elapsedSec: Math.round(elapsedSec * 1000) / 1000,
    rps: Math.round(responses / elapsedSec),
    latencyMs: summarize(Float64Array.from(latencies)),
    exhausted: window.exhausted,
    generatorCpu: Math.round(((cpu.user + cpu.system) / 1000 / cpuWallMs) * 1000) / 1000,
    errorSamples,
  };
  emit({ event: 'result', result });
}

main().then(
  // The result line may be a megabyte (the ids of every Create): written to a pipe, it must be out
  // before the process ends, or the benchmark reads half of it.
  () => process.stdout.write('', () => process.exit(0)),
  (err: unknown) => {
    process.stderr.write(
      `load generator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
