/**
 * The quotas an operator sets with `serve --limits` (or VPCMIRROR_LIMITS) are the ones a real
 * server enforces, driven through the official SDK; the listening line says which are in force.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newAccessKeyId, newAccessKeySecret } from '../../src/ids.js';
import { expectCode, sdkCall, vpcClient } from '../helpers/clients.js';
import { ServerProcess } from '../helpers/process.js';

const REGION = 'cn-hangzhou';

test('serve --limits: a second filter and a second session on one source ENI are over the quotas set', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vpcmirror-limits-'));
  const keys = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  const server = await ServerProcess.start({
    args: [
      '--data-dir',
      dataDir,
      '--transitions',
      'default=0',
      '--limits',
      'filtersPerRegion=1,sessionsPerSource=1',
    ],
    env: { VPCMIRROR_ACCESS_KEY_ID: keys.accessKeyId, VPCMIRROR_ACCESS_KEY_SECRET: keys.accessKeySecret },
  });
  try {
    const listening = server
      .recentOutput()
      .split('\n')
      .map((line) => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : {}))
      .find((entry) => entry.msg === 'vpcmirror listening');
    assert.deepEqual(listening?.limits, {
      sourcesPerSession: 10,
      sessionsPerSource: 1,
      filtersPerRegion: 1,
      sessionsPerRegion: 1000,
    });
    const client = vpcClient({ endpoint: server.endpoint, ...keys });
    const filter = await sdkCall(client, 'CreateTrafficMirrorFilter', { RegionId: REGION });
    const over = await expectCode(
      () => sdkCall(client, 'CreateTrafficMirrorFilter', { RegionId: REGION }),
      'QuotaExceeded.TrafficMirrorFilter',
    );
    assert.match(String(over.message), /quota of 1\b/);
    const session = (source: string, target: string, priority: number) =>
      sdkCall(client, 'CreateTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorFilterId: filter.TrafficMirrorFilterId,
        TrafficMirrorTargetId: target,
        TrafficMirrorTargetType: 'NetworkInterface',
        Priority: priority,
        'TrafficMirrorSourceIds.1': source,
      });
    await session('eni-source0000000001', 'eni-target0000000001', 1);
    await expectCode(
      () => session('eni-source0000000001', 'eni-target0000000002', 2),
      'QuotaExceeded.TrafficMirrorSession',
    );
    await session('eni-source0000000002', 'eni-target0000000002', 2);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
