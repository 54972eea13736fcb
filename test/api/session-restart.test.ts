/**
 * Durability of the asynchronous transitions across a crash: the real server process leaves one
 * session Deleting and one Creating, is killed with SIGKILL, starts again on the same store, and
 * both transitions complete. On SQLite (same --data-dir) and on PostgreSQL (a fresh schema chosen
 * through the connection URL's search_path). The one place besides the CLI test where real time
 * passes; every wait is a bounded loop.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { type Credentials, callVia } from '../helpers/clients.js';
import { pgUrl, testStores } from '../helpers/server.js';
import { REGION, type Session } from './session-fixtures.js';

/** First run: transitions take this long, so the crash surely comes before they are due. */
const FIRST_RUN_DELAY_MS = 10_000;
const ACCESS_KEY_ID = `LTAIrestart${randomBytes(6).toString('hex')}`;
const ACCESS_KEY_SECRET = randomBytes(15).toString('hex');

interface Running {
  readonly child: ChildProcess;
  readonly creds: Credentials;
  readonly endpoint: string;
}

const children = new Set<ChildProcess>();

/** Starts `vpcmirror serve` and resolves with its endpoint from the 'vpcmirror listening' log line. */
async function serve(args: readonly string[]): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['bin/vpcmirror.js', 'serve', '--port', '0', '--log-level', 'info', ...args],
    {
      cwd: process.cwd(),
      env: {
        ...process.env,
        VPCMIRROR_ACCESS_KEY_ID: ACCESS_KEY_ID,
        VPCMIRROR_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET,
        VPCMIRROR_WORKER_INTERVAL_MS: '50',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 60s: ${stderr}`)), 60_000);
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg === 'vpcmirror listening' && typeof entry.endpoint === 'string') {
          clearTimeout(timer);
          resolve(entry.endpoint);
        }
      } catch {
        // not a log line
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)} before listening: ${stderr}`));
    });
  });
  return {
    child,
    endpoint,
    creds: { endpoint, accessKeyId: ACCESS_KEY_ID, accessKeySecret: ACCESS_KEY_SECRET },
  };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function admin(endpoint: string, path: string, method = 'GET'): Promise<Record<string, unknown>> {
  const r = await fetch(`http://${endpoint}/_vpcmirror/${path}`, { method });
  assert.equal(r.status, 200);
  return (await r.json()) as Record<string, unknown>;
}

async function statusOf(creds: Credentials, id: string): Promise<string> {
  const body = await callVia('vpc-v3', creds, 'ListTrafficMirrorSessions', {
    RegionId: REGION,
    TrafficMirrorSessionIds: [id],
  });
  const s = (body.TrafficMirrorSessions as Session[])[0];
  return s?.TrafficMirrorSessionStatus ?? 'gone';
}

after(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await exited(child);
  }
});

for (const storeKind of testStores()) {
  describe(`transitions survive a crash of the server process [${storeKind}]`, () => {
    test('a Deleting and a Creating session complete after SIGKILL and a restart on the same store', async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vpcmirror-restart-'));
      const schema = `restart_${randomBytes(6).toString('hex')}`;
      const storeArgs: string[] = ['--data-dir', dataDir];
      let pgClient: pg.Client | undefined;
      if (storeKind === 'postgres') {
        pgClient = new pg.Client({ connectionString: pgUrl() });
        await pgClient.connect();
        await pgClient.query(`create schema "${schema}"`);
        const url = new URL(pgUrl());
        url.searchParams.set('options', `-c search_path=${schema}`);
        storeArgs.push('--database', url.toString());
      }
      try {
        const first = await serve([
          ...storeArgs,
          '--transitions',
          `default=${FIRST_RUN_DELAY_MS}ms,filter.create=0`,
        ]);
        const filter = await callVia('vpc-v3', first.creds, 'CreateTrafficMirrorFilter', {
          RegionId: REGION,
        });
        const base = {
          RegionId: REGION,
          TrafficMirrorTargetId: 'eni-restarttarget',
          TrafficMirrorTargetType: 'NetworkInterface',
          TrafficMirrorFilterId: filter.TrafficMirrorFilterId,
        };
        const a = String(
          (
            await callVia('vpc-v3', first.creds, 'CreateTrafficMirrorSession', {
              ...base,
              TrafficMirrorSourceIds: ['eni-restarta'],
              Priority: 1,
            })
          ).TrafficMirrorSessionId,
        );
        await admin(first.endpoint, `transitions/advance?resourceId=${a}`, 'POST');
        assert.equal(await statusOf(first.creds, a), 'Created');
        const scheduledAt = Date.now();
        await callVia('vpc-v3', first.creds, 'DeleteTrafficMirrorSession', {
          RegionId: REGION,
          TrafficMirrorSessionId: a,
        });
        const b = String(
          (
            await callVia('vpc-v3', first.creds, 'CreateTrafficMirrorSession', {
              ...base,
              TrafficMirrorSourceIds: ['eni-restartb'],
              Priority: 2,
            })
          ).TrafficMirrorSessionId,
        );
        assert.equal(await statusOf(first.creds, a), 'Deleting');
        assert.equal(await statusOf(first.creds, b), 'Creating');

        first.child.kill('SIGKILL');
        await exited(first.child);
        assert.equal(first.child.signalCode, 'SIGKILL');
        assert.ok(
          Date.now() - scheduledAt < FIRST_RUN_DELAY_MS,
          'the crash came before the transitions were due',
        );

        const second = await serve([...storeArgs, '--transitions', 'default=100ms']);
        let states: [string, string];
        // When the restart was quick enough to look before they fall due, the crash visibly lost
        // nothing: both transitions are still pending and both sessions still transient.
        if (Date.now() - scheduledAt < FIRST_RUN_DELAY_MS - 1000) {
          const pending = (await admin(second.endpoint, 'transitions')).pending as Array<
            Record<string, unknown>
          >;
          assert.deepEqual(
            pending.map((p) => `${String(p.resourceId)}:${String(p.kind)}`).sort(),
            [`${a}:delete`, `${b}:ready`].sort(),
          );
          states = [await statusOf(second.creds, a), await statusOf(second.creds, b)];
          assert.deepEqual(states, ['Deleting', 'Creating']);
          t.diagnostic('after the restart both transitions were seen still pending');
        } else {
          t.diagnostic('the restart took too long to look at the pending transitions first');
        }
        const deadline = scheduledAt + FIRST_RUN_DELAY_MS + 15_000;
        states = ['', ''];
        while (Date.now() < deadline) {
          states = [await statusOf(second.creds, a), await statusOf(second.creds, b)];
          if (states[0] === 'gone' && states[1] === 'Created') break;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.deepEqual(states, ['gone', 'Created']);
        assert.deepEqual((await admin(second.endpoint, 'transitions')).pending, []);

        second.child.kill('SIGTERM');
        await exited(second.child);
        assert.equal(second.child.exitCode, 0);
      } finally {
        if (pgClient) {
          await pgClient.query(`drop schema if exists "${schema}" cascade`);
          await pgClient.end();
        }
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
