/**
 * How many SQL statements one call of each benchmarked action runs on SQLite, and which: a way to
 * read a profile where the database dominates. Runs the server in-process on a small seeded store
 * and records every statement better-sqlite3 executes (statements are prepared once and reused, so
 * executions are counted, not preparations). The first call of each kind warms the caches, as a
 * running server has them: a cold AccessKey or policy set costs one more statement each.
 * `npx tsx scripts/bench/queries.ts [--principal root]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import { call } from '../../src/cli/client.js';
import { startServer } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/store.js';
import { BENCH_ACCOUNT, LIST_REGION } from './layout.js';
import { benchListIds, newKey, seedCreateAccounts, seedDeletePool, seedKeys, seedStored } from './seed.js';

const statements: string[] = [];
const EXECUTE = ['run', 'get', 'all', 'iterate'] as const;
const recorded = new WeakSet<object>();
const prepare = SqliteDatabase.prototype.prepare;
SqliteDatabase.prototype.prepare = function (this: SqliteDatabase.Database, source: string) {
  const statement = prepare.call(this, source);
  // Every statement shares one prototype: wrap its execute methods once.
  const proto = Object.getPrototypeOf(statement) as Record<
    (typeof EXECUTE)[number],
    (...a: unknown[]) => unknown
  >;
  if (!recorded.has(proto)) {
    recorded.add(proto);
    for (const name of EXECUTE) {
      const original = proto[name];
      proto[name] = function (this: SqliteDatabase.Statement, ...args: unknown[]) {
        statements.push(this.source);
        return original.apply(this, args);
      };
    }
  }
  return statement;
} as typeof prepare;

async function main(): Promise<void> {
  const principal = process.argv.includes('--principal') && process.argv.includes('root') ? 'root' : 'user';
  const dataDir = mkdtempSync(join(tmpdir(), 'vpcmirror-queries-'));
  try {
    const serverKey = newKey(BENCH_ACCOUNT);
    const key = principal === 'root' ? serverKey : newKey(BENCH_ACCOUNT, 'user');
    const store = await openStore({ location: join(dataDir, 'vpcmirror.sqlite') });
    await seedKeys(store, [serverKey, key]);
    await seedStored(store, 0, 2000);
    const [create] = await seedCreateAccounts(store, 1, principal);
    const pool = await seedDeletePool(store, 10);
    const ids = await benchListIds(store, 10);
    await store.close();

    const config = loadConfig(
      { port: '0', 'data-dir': dataDir, 'log-level': 'info' },
      {
        VPCMIRROR_ACCESS_KEY_ID: serverKey.accessKeyId,
        VPCMIRROR_ACCESS_KEY_SECRET: serverKey.accessKeySecret,
      },
    );
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const server = await startServer(config, sink);
    const endpoint = `127.0.0.1:${server.running.port}`;
    const as = (k: { accessKeyId: string; accessKeySecret: string }) => ({
      endpoint,
      accessKeyId: k.accessKeyId,
      accessKeySecret: k.accessKeySecret,
    });
    const [poolRegion, poolId] = pool[0] ?? ['', ''];
    const calls: Array<[string, ReturnType<typeof as>, string, Record<string, string>]> = [
      ['DescribeRegions', as(key), 'DescribeRegions', {}],
      [
        'List by id',
        as(key),
        'ListTrafficMirrorSessions',
        { RegionId: LIST_REGION, 'TrafficMirrorSessionIds.1': ids[3] ?? '' },
      ],
      [
        'List page (MaxResults=100)',
        as(key),
        'ListTrafficMirrorSessions',
        { RegionId: LIST_REGION, MaxResults: '100' },
      ],
      [
        'Create',
        as(create?.key ?? key),
        'CreateTrafficMirrorSession',
        {
          RegionId: LIST_REGION,
          'TrafficMirrorSourceIds.1': 'eni-queriessource1',
          TrafficMirrorTargetId: 'eni-queriestarget1',
          TrafficMirrorTargetType: 'NetworkInterface',
          TrafficMirrorFilterId: create?.filters[0] ?? '',
          Priority: '1',
        },
      ],
      [
        'Delete',
        as(key),
        'DeleteTrafficMirrorSession',
        { RegionId: poolRegion, TrafficMirrorSessionId: poolId },
      ],
    ];
    process.stdout.write(`SQL statements per call on SQLite (load signed by ${principal}):\n`);
    for (const [label, opts, action, params] of calls) {
      // Once to warm up anything lazily loaded (and this key's cache entries), then counted.
      await call(opts, 'DescribeRegions', {});
      statements.length = 0;
      const r = await call(opts, action, params);
      const list = [...statements];
      process.stdout.write(`\n${label}: HTTP ${r.status}, ${list.length} statements\n`);
      for (const s of list) process.stdout.write(`  ${s.length > 160 ? `${s.slice(0, 157)}...` : s}\n`);
    }
    await server.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
