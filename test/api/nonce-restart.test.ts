/**
 * Replay protection across a crash, on a real `vpcmirror serve` process: a signed request answered
 * before SIGKILL is refused as a replay after the restart, while a request signed before the crash
 * and never sent is still served. On SQLite, also: a second server on the same file refuses to start
 * while the first runs, and starts once the first is gone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { newAccessKeyId, newAccessKeySecret } from '../../src/ids.js';
import { captureCall, expectError, expectSuccess, replay, startCapture } from '../helpers/capture.js';
import { freshPgSchema, ServerProcess } from '../helpers/process.js';
import { type StoreKind, testStores } from '../helpers/server.js';

async function withServer(
  kind: StoreKind,
  body: (
    server: ServerProcess,
    serve: (extra?: readonly string[]) => Promise<ServerProcess>,
    keys: Keys,
    dataDir: string,
  ) => Promise<void>,
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vpcmirror-nonce-restart-'));
  const pg = kind === 'postgres' ? await freshPgSchema() : undefined;
  const keys = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  const started: ServerProcess[] = [];
  const serve = async (extra: readonly string[] = []) => {
    const server = await ServerProcess.start({
      args: ['--data-dir', dataDir, ...(pg ? ['--database', pg.url] : []), ...extra],
      env: { VPCMIRROR_ACCESS_KEY_ID: keys.accessKeyId, VPCMIRROR_ACCESS_KEY_SECRET: keys.accessKeySecret },
    });
    started.push(server);
    return server;
  };
  try {
    await body(await serve(), serve, keys, dataDir);
  } finally {
    for (const s of started) await s.stop();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Keys {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
}

describe('replay protection across a crash of a real server process', { concurrency: true }, () => {
  for (const kind of testStores()) {
    test(`a request answered before SIGKILL is SignatureNonceUsed after the restart [${kind}]`, async () => {
      await withServer(kind, async (server, _serve, keys) => {
        const capture = await startCapture();
        try {
          const answered = await captureCall(capture, 'vpc-v3', keys, 'DescribeRegions', {});
          const answeredV1 = await captureCall(capture, 'pop-get', keys, 'DescribeRegions', {});
          const unsent = await captureCall(capture, 'vpc-v3', keys, 'DescribeRegions', {});
          expectSuccess(await replay(server.port, answered));
          expectSuccess(await replay(server.port, answeredV1));
          expectError(await replay(server.port, answered), 400, 'SignatureNonceUsed');
          await server.restart();
          assert.equal(server.starts, 2);
          if (kind === 'sqlite') {
            // The second start says what it read back: the two answered requests' nonces at least.
            const line = server
              .recentOutput()
              .split('\n')
              .filter((l) => l.includes('"recent nonces loaded from the SQLite file"'))
              .at(-1);
            assert.ok(line, server.recentOutput());
            const entry = JSON.parse(line) as { nonces: number; ms: number };
            assert.ok(entry.nonces >= 2 && entry.ms >= 0, line);
          }
          expectError(await replay(server.port, answered), 400, 'SignatureNonceUsed');
          expectError(await replay(server.port, answeredV1), 400, 'SignatureNonceUsed');
          expectSuccess(await replay(server.port, unsent));
          expectError(await replay(server.port, unsent), 400, 'SignatureNonceUsed');
        } finally {
          await capture.close();
        }
      });
    });
  }

  test('a second server on the same SQLite file refuses to start while the first runs, and starts after SIGKILL of the first', {
    skip: !testStores().includes('sqlite') && 'VPCMIRROR_TEST_STORES does not list sqlite',
  }, async () => {
    await withServer('sqlite', async (first, serve, _keys, dataDir) => {
      // Refused before it applies a set-up file, which would otherwise change the running server's accounts.
      const setup = join(dataDir, 'intruder.yaml');
      writeFileSync(setup, 'accounts:\n  - name: intruder\n');
      await assert.rejects(
        serve(['--config', setup]),
        /exited \(2\) before listening[\s\S]*vpcmirror: another process records nonces in/,
      );
      const file = new SqliteDatabase(join(dataDir, 'vpcmirror.sqlite'), { readonly: true });
      try {
        assert.deepEqual(file.prepare(`select id from accounts where name = 'intruder'`).all(), []);
      } finally {
        file.close();
      }
      await assert.rejects(
        serve(),
        /exited \(2\) before listening[\s\S]*vpcmirror: another process records nonces in \S+vpcmirror\.sqlite: one SQLite file serves one server process \(run several nodes on PostgreSQL\)/,
      );
      await first.kill();
      const second = await serve();
      assert.ok(second.port > 0);
      // The lock is one companion file, and the first start (nothing to load) logs no load line.
      assert.deepEqual(
        readdirSync(dataDir).filter((f) => f.startsWith('vpcmirror.sqlite-lock')),
        ['vpcmirror.sqlite-lock'],
      );
      assert.ok(!first.recentOutput().includes('recent nonces loaded'), first.recentOutput());
    });
  });
});
