/**
 * Two builds of the server, compared on one machine whose speed moves by half within minutes: each
 * build is started in turn (A B, then B A, …) on its own copy of one seeded SQLite store and driven
 * by the benchmark's generator for a short window, and what the server process spent on each
 * answered request is reported: CPU time, and read and write system calls (`/proc/<pid>/io`, every
 * thread of it). System calls do not move with the machine's speed; CPU does, which the
 * alternation and the medians are for. Both servers run on default settings, as `npm run bench`
 * checks them.
 *
 *   npx tsx scripts/bench/compare.ts <checkout A> <checkout B> [--scenario list|regions|create]
 *     [--pairs 4] [--duration 5] [--warmup 1.5] [--stored 100000] [--connections 32]
 *
 * A checkout is a directory holding a build (`npm run build`) and its node_modules; an earlier
 * commit as one: `git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/ &&
 * (cd /tmp/old && npm run build)`.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore } from '../../src/store/store.js';
import type { LoadJob, Recipe } from './job.js';
import { BENCH_ACCOUNT, benchListCount, createAccountsFor, LIST_REGION } from './layout.js';
import { median } from './pages.js';
import { cpuSecondsOf, ioCallsOf, killChildren, runLoad, startVpcmirror } from './processes.js';
import { benchListIds, newKey, seedCreateAccounts, seedKeys, seedStored } from './seed.js';

const SCENARIOS = ['list', 'regions', 'create'] as const;
type Scenario = (typeof SCENARIOS)[number];

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npx tsx scripts/bench/compare.ts <checkout A> <checkout B> [--scenario ${SCENARIOS.join('|')}] [--pairs n] [--duration s] [--warmup s] [--stored n] [--connections n]\n`,
  );
  process.exit(2);
}

const args = process.argv.slice(2);
function option(name: string, fallback: number, least = Number.MIN_VALUE): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  const n = Number(value);
  if (!(n >= least))
    usage(
      least === Number.MIN_VALUE
        ? `${name} takes a number above 0`
        : `${name} takes a number of at least ${least}`,
    );
  return n;
}
const scenarioAt = args.indexOf('--scenario');
const scenario = (scenarioAt < 0 ? 'list' : args.splice(scenarioAt, 2)[1]) as Scenario;
if (!SCENARIOS.includes(scenario)) usage(`--scenario is one of ${SCENARIOS.join(', ')}`);
const pairs = option('--pairs', 4);
const durationSec = option('--duration', 5);
const warmupSec = option('--warmup', 1.5, 0);
const stored = option('--stored', 100_000);
const connections = option('--connections', 32);
if (args.length !== 2 || args.some((a) => a.startsWith('--'))) usage('two checkouts, then options');
const builds = args.map((a) => resolve(a));
for (const b of builds) if (!existsSync(join(b, 'dist/main.js'))) usage(`${b} has no build (npm run build)`);

/** Requests signed for a window: more than either build can answer in it (one use each). */
const budget = Math.ceil(25_000 * (durationSec + warmupSec));

const tmp = mkdtempSync(join(tmpdir(), 'vpcmirror-compare-'));
const cleanUp = () => {
  killChildren();
  rmSync(tmp, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    cleanUp();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });

// From here on whatever happens the temporary directory goes, and every server with it.
process.on('exit', cleanUp);
const seeded = join(tmp, 'seeded');
mkdirSync(seeded);
const serverKey = newKey(BENCH_ACCOUNT);
const benchKey = newKey(BENCH_ACCOUNT, 'user');
const store = await openStore({ location: join(seeded, 'vpcmirror.sqlite') });
await seedKeys(store, [serverKey, benchKey]);
await seedStored(store, 0, stored, () => {});
const recipe: Recipe =
  scenario === 'create'
    ? { type: 'create', accounts: await seedCreateAccounts(store, createAccountsFor(budget), 'user') }
    : scenario === 'regions'
      ? { type: 'regions', key: benchKey }
      : {
          type: 'listById',
          key: benchKey,
          regionId: LIST_REGION,
          ids: await benchListIds(store, benchListCount(stored)),
        };
await store.close();

interface Sample {
  readonly cpuUs: number;
  readonly writes: number;
  readonly reads: number;
  readonly rps: number;
}

let run = 0;
async function measure(build: string): Promise<Sample> {
  const dataDir = join(tmp, `run-${run++}`);
  cpSync(seeded, dataDir, { recursive: true });
  const server = await startVpcmirror({ dataDir, key: serverKey, root: build });
  try {
    const job: LoadJob = {
      label: scenario,
      endpoints: [server.endpoint],
      connections,
      durationSec,
      warmupSec,
      budget,
      cycle: false,
      recipe,
      ...(scenario === 'list' ? { expect: '"TotalCount":"1"' } : {}),
    };
    const jobFile = join(dataDir, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job));
    let start = { cpu: 0, io: { reads: 0, writes: 0 } };
    let end = start;
    const at = () => ({ cpu: cpuSecondsOf(server.pid), io: ioCallsOf(server.pid) });
    const load = await runLoad(jobFile, job, {
      onStart: () => {
        start = at();
      },
      onEnd: () => {
        end = at();
      },
    });
    if (load.ok !== load.responses || load.unexpected > 0 || load.responses === 0)
      throw new Error(
        `${build}: answers that were not 2xx or not as asked: ${load.errorSamples.join(' | ')}`,
      );
    const n = load.responses;
    return {
      cpuUs: ((end.cpu - start.cpu) / n) * 1e6,
      writes: (end.io.writes - start.io.writes) / n,
      reads: (end.io.reads - start.io.reads) / n,
      rps: load.rps,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const samples: Sample[][] = [[], []];
try {
  for (let p = 0; p < pairs; p++) {
    // A B, then B A: a machine speeding up or slowing down over the run favours neither.
    const order = p % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const s = await measure(builds[i] ?? '');
      samples[i]?.push(s);
      console.log(
        `pair ${p + 1} ${'AB'[i]}: ${s.rps} req/s, ${s.cpuUs.toFixed(1)} µs CPU, ${s.writes.toFixed(3)} writes, ${s.reads.toFixed(3)} reads per request`,
      );
    }
  }
  const [a, b] = samples as [Sample[], Sample[]];
  const lower = a.filter((s, i) => (b[i]?.cpuUs ?? Number.POSITIVE_INFINITY) < s.cpuUs).length;
  for (const [i, list] of [a, b].entries())
    console.log(
      `${'AB'[i]} ${builds[i]}: median ${median(list.map((s) => s.cpuUs)).toFixed(1)} µs CPU, ${median(list.map((s) => s.writes)).toFixed(3)} writes, ${median(list.map((s) => s.reads)).toFixed(3)} reads per ${scenario} request`,
    );
  console.log(`B spent less CPU per request than A in ${lower} of ${pairs} pairs`);
} finally {
  cleanUp();
}
