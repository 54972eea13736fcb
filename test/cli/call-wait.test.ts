/**
 * `vpcmirror call … --wait` as a user runs it: the real CLI process against a server whose
 * transitions take 300 ms. Create waits until the session is Created, Delete until it is gone;
 * both exit 0. Real time passes here (bounded by the transition delay and the poll interval).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { getSession, REGION } from '../api/session-fixtures.js';
import { callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(server: TestServer, args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        'bin/vpcmirror.js',
        'call',
        ...args,
        '--endpoint',
        server.endpoint,
        '--access-key-id',
        server.accessKeyId,
        '--access-key-secret',
        server.accessKeySecret,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vpcmirror call did not finish within 60s: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const storeKind of testStores()) {
  describe(`vpcmirror call --wait [${storeKind}]`, () => {
    let server: TestServer;
    let filter: string;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: '300ms' } });
      const f = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: REGION });
      filter = String(f.TrafficMirrorFilterId);
      await server.advance({ resourceId: filter });
    });
    after(() => server.close());

    test('call CreateTrafficMirrorSession --wait exits 0 once the session is Created, then DeleteTrafficMirrorSession --wait exits 0 once it is gone', async () => {
      const created = await cli(server, [
        'CreateTrafficMirrorSession',
        '--RegionId',
        REGION,
        '--TrafficMirrorSourceIds.1',
        'eni-cli1',
        '--TrafficMirrorTargetId',
        'eni-clitarget',
        '--TrafficMirrorTargetType',
        'NetworkInterface',
        '--TrafficMirrorFilterId',
        filter,
        '--Priority',
        '7',
        '--wait',
        '--interval',
        '0.1',
        '--timeout',
        '30',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const body = JSON.parse(created.stdout) as Record<string, unknown>;
      const id = String(body.TrafficMirrorSessionId);
      assert.match(id, /^tms-/);
      assert.match(created.stderr, new RegExp(`${id}: Created`));
      assert.equal((await getSession(server, id))?.TrafficMirrorSessionStatus, 'Created');

      const deleted = await cli(server, [
        'DeleteTrafficMirrorSession',
        '--RegionId',
        REGION,
        '--TrafficMirrorSessionId',
        id,
        '--wait',
        '--interval',
        '0.1',
        '--timeout',
        '30',
      ]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(Object.keys(JSON.parse(deleted.stdout) as object), ['RequestId']);
      assert.match(deleted.stderr, new RegExp(`${id}: gone`));
      assert.equal(await getSession(server, id), undefined);
    });

    test('call DeleteTrafficMirrorSession --wait of an unknown session prints the error and exits 1 without waiting', async () => {
      const r = await cli(server, [
        'DeleteTrafficMirrorSession',
        '--RegionId',
        REGION,
        '--TrafficMirrorSessionId',
        'tms-doesnotexist0000000',
        '--wait',
      ]);
      assert.equal(r.code, 1);
      assert.equal(
        (JSON.parse(r.stdout) as Record<string, unknown>).Code,
        'ResourceNotFound.TrafficMirrorSession',
      );
    });
  });
}
