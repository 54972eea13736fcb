/**
 * What happens on a connection around requests: a peer that resets it as it is answered, bytes
 * that do not parse after a request that is still running. Against a server process, so that a
 * crash shows as one instead of taking the test runner with it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CaptureServer, captureCall, startCapture, wireBytes } from '../helpers/capture.js';
import { callVia } from '../helpers/clients.js';
import { ServerProcess } from '../helpers/process.js';

const KEY = { accessKeyId: 'LTAIconnections00001', accessKeySecret: 'connectionsSecret0000000000001' };

describe('connections', () => {
  let dir: string;
  let server: ServerProcess;
  let cap: CaptureServer;
  before(async () => {
    cap = await startCapture();
    dir = mkdtempSync(join(tmpdir(), 'vpcmirror-connections-'));
    server = await ServerProcess.start({
      args: ['--data-dir', dir, '--transitions', 'default=0'],
      env: { VPCMIRROR_ACCESS_KEY_ID: KEY.accessKeyId, VPCMIRROR_ACCESS_KEY_SECRET: KEY.accessKeySecret },
    });
  });
  after(async () => {
    await cap?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the bytes and reads until the server closes the connection (bounded: a hang fails). */
  function exchange(bytes: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect(server.port, '127.0.0.1', () => s.write(bytes));
      s.setTimeout(10_000, () => s.destroy(new Error('no end of the exchange within 10 s')));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', reject);
      s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  }

  /** Status lines and bodies of the answers in a read, in order. */
  function answers(raw: string): Array<{ status: number; body: Record<string, unknown> }> {
    return raw
      .split(/(?=HTTP\/1\.1 \d{3} )/)
      .filter((part) => part.startsWith('HTTP/1.1 '))
      .map((part) => {
        const [head = '', body = ''] = part.split('\r\n\r\n');
        return { status: Number(head.slice(9, 12)), body: JSON.parse(body) as Record<string, unknown> };
      });
  }

  async function stillServes(): Promise<void> {
    const body = await callVia('vpc-v3', { endpoint: server.endpoint, ...KEY }, 'DescribeRegions', {});
    assert.ok(body.RequestId, 'the server answers a signed call');
  }

  test('a CONNECT whose client resets the connection as it is refused leaves the server running', async () => {
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = connect(server.port, '127.0.0.1', () =>
          s.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', () =>
            s.resetAndDestroy(),
          ),
        );
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    await stillServes();
    await stillServes();
  });

  test('a client that keeps its end of a refused CONNECT open does not hold up a shutdown', async () => {
    const own = await ServerProcess.start({
      args: ['--data-dir', join(dir, 'half-open')],
      env: { VPCMIRROR_ACCESS_KEY_ID: KEY.accessKeyId, VPCMIRROR_ACCESS_KEY_SECRET: KEY.accessKeySecret },
    });
    const s = connect({ port: own.port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      s.on('error', () => undefined);
      let refusal = '';
      s.setEncoding('latin1');
      s.on('data', (c: string) => {
        refusal += c;
      });
      await new Promise((resolve) => s.once('connect', resolve));
      s.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      // The refusal and the server's end of the stream; this client never ends its own.
      await new Promise((resolve) => s.once('end', resolve));
      assert.match(refusal, /^HTTP\/1\.1 403 /);
      await own.stop(30_000);
      assert.deepEqual(own.exitStatus(), { code: 0, signal: null }, own.recentOutput());
    } finally {
      s.destroy();
      // Whatever failed above, the server process does not outlive the test.
      await own.kill();
    }
  });

  test('bytes that do not parse after a request still running wait for its answer, then get their own refusal', async () => {
    const name = `pipelined-${Date.now()}`;
    // Signed by an official client (recorded, not sent to us), then written with bytes after it.
    const create = await captureCall(cap, 'vpc-v3', KEY, 'CreateTrafficMirrorFilter', {
      RegionId: 'cn-hangzhou',
      TrafficMirrorFilterName: name,
    });
    const raw = await exchange(
      Buffer.concat([wireBytes(create, 'keep-alive'), Buffer.from('GARBAGE\r\n\r\n')]),
    );
    const [created, refused, ...more] = answers(raw);
    assert.equal(created?.status, 200, raw);
    assert.match(String(created?.body.TrafficMirrorFilterId), /^tmf-/);
    assert.equal(refused?.status, 403, raw);
    assert.equal(refused?.body.Code, 'UnsupportedHTTPMethod');
    assert.equal(more.length, 0);
    await stillServes();
  });
});
