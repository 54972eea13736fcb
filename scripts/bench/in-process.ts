/**
 * The request pipeline without HTTP: builds the app on a fresh SQLite file (default settings, RAM
 * on, the store opened as the server opens it), seeds what the call needs, signs every request
 * first, then has 32 concurrent callers drive app.handle() and prints the wall time per request.
 * On one thread with nothing else to do, that is the CPU a request costs the pipeline and the
 * store, including the transitions (Creating -> Created, Deleting -> gone) that the app's worker
 * applies meanwhile, as a server's does. Used to measure one change at a time:
 *
 *   npx tsx scripts/bench/in-process.ts list|page|regions|create|delete [requests] [--database postgres://…]
 *     [--cpu-prof file] [--sqlite-checkpoints thread|inline]
 *
 * --cpu-prof writes a V8 CPU profile of the timed requests alone (not the seeding or the signing);
 * read it with scripts/bench/profile.ts.
 *
 * With --database the store is a fresh schema of that PostgreSQL database, dropped at the end; the
 * wall time then includes the waits for PostgreSQL, and the CPU time shows this process alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { createApp } from '../../src/app.js';
import { asRpcRequest, type SignedRequest, signRequest } from '../../src/cli/client.js';
import { serverStoreOptions } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/store.js';
import { type AccountKey, BENCH_ACCOUNT, createSlot, LIST_REGION, REGIONS } from './layout.js';
import { benchListIds, newKey, seedCreateAccounts, seedDeletePool, seedKeys, seedStored } from './seed.js';

const SCENARIOS = ['regions', 'list', 'page', 'create', 'delete'] as const;
type Scenario = (typeof SCENARIOS)[number];

const scenario = process.argv[2] as Scenario;
if (!SCENARIOS.includes(scenario)) {
  process.stderr.write(`usage: npx tsx scripts/bench/in-process.ts ${SCENARIOS.join('|')} [requests]\n`);
  process.exit(2);
}
const args = process.argv.slice(3);
/** Removes `--name value` from args and returns the value. */
function option(name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const [, value] = args.splice(at, 2);
  return value;
}
const databaseUrl = option('--database');
const profileFile = option('--cpu-prof');
const checkpoints = option('--sqlite-checkpoints');
const total = Number(args[0] ?? 10_000);
const WARM = Math.min(500, Math.floor(total / 10));
const CALLERS = 32;

const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-in-process-'));
const config = loadConfig(
  { 'data-dir': dir, ...(checkpoints === undefined ? {} : { 'sqlite-checkpoints': checkpoints }) },
  {},
);
const schema = `vpcmirror_inproc_${randomBytes(5).toString('hex')}`;
const logger = createLogger('info', new Writable({ write: (_chunk, _enc, done) => done() }));
const store = databaseUrl
  ? await openStore({ location: databaseUrl, schema })
  : await openStore(serverStoreOptions(config, logger));
const app = createApp(config, store, logger);

function sign(key: AccountKey, action: string, params: Record<string, string>): SignedRequest {
  return signRequest(
    { endpoint: '127.0.0.1:1', accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
    action,
    params,
  );
}

async function requests(): Promise<SignedRequest[]> {
  if (scenario === 'create') {
    const accounts = await seedCreateAccounts(store, 1, 'user');
    return Array.from({ length: total }, (_, i) => {
      const slot = createSlot(i, accounts.length);
      const account = accounts[slot.account];
      if (!account) throw new Error('no create account');
      return sign(account.key, 'CreateTrafficMirrorSession', {
        RegionId: REGIONS[slot.regionIndex] ?? '',
        'TrafficMirrorSourceIds.1': `eni-src${i.toString(36).padStart(8, '0')}`,
        TrafficMirrorTargetId: `eni-tgt${slot.account}r${slot.regionIndex}`,
        TrafficMirrorTargetType: 'NetworkInterface',
        TrafficMirrorFilterId: account.filters[slot.regionIndex] ?? '',
        Priority: String(slot.priority),
      });
    });
  }
  const key = newKey(BENCH_ACCOUNT, 'user');
  await seedKeys(store, [key]);
  if (scenario === 'delete') {
    const pool = await seedDeletePool(store, total);
    return pool.map(([regionId, id]) =>
      sign(key, 'DeleteTrafficMirrorSession', { RegionId: regionId, TrafficMirrorSessionId: id }),
    );
  }
  if (scenario === 'regions') return Array.from({ length: total }, () => sign(key, 'DescribeRegions', {}));
  await seedStored(store, 0, 5_000);
  // A first page of 100 of the account's sessions in the region: one query for many rows.
  if (scenario === 'page')
    return Array.from({ length: total }, () =>
      sign(key, 'ListTrafficMirrorSessions', { RegionId: LIST_REGION, MaxResults: '100' }),
    );
  const ids = await benchListIds(store, 5_000);
  return Array.from({ length: total }, (_, i) =>
    sign(key, 'ListTrafficMirrorSessions', {
      RegionId: LIST_REGION,
      'TrafficMirrorSessionIds.1': ids[i % ids.length] ?? '',
    }),
  );
}

/** Starts V8's sampling profiler in this process; the returned function stops it. */
async function startProfiler(): Promise<() => Promise<object>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

async function drive(reqs: readonly SignedRequest[], from: number, to: number): Promise<void> {
  let next = from;
  const caller = async (): Promise<void> => {
    while (next < to) {
      const r = reqs[next++];
      if (!r) return;
      const { response } = await app.handle(asRpcRequest(r));
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.body}`);
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
}

try {
  const reqs = await requests();
  // As a server does: the transition worker applies what the calls scheduled (a second after
  // each Create or Delete, by default) while the timed calls run, and its statements count.
  await app.start();
  await drive(reqs, 0, WARM);
  const profiler = profileFile === undefined ? undefined : await startProfiler();
  const started = performance.now();
  const cpu = process.cpuUsage();
  await drive(reqs, WARM, total);
  const elapsedMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (profiler && profileFile) writeFileSync(profileFile, JSON.stringify(await profiler()));
  const n = total - WARM;
  const us = (elapsedMs * 1000) / n;
  const cpuUs = (used.user + used.system) / n;
  process.stdout.write(
    `${scenario}: ${us.toFixed(1)} µs per request, ${cpuUs.toFixed(1)} µs CPU, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (${n} requests, ${CALLERS} callers, ${store.dialect})\n`,
  );
} finally {
  await app.stop();
  if (databaseUrl) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
