/**
 * A store that fails in a way a retry may meet no more is answered with ServiceUnavailable (503),
 * which the SDKs and Terraform retry, not InternalError: here another connection keeps the SQLite
 * file's write lock past the store's 5-second wait, so a Create cannot be written. Once the lock is
 * released, the same kind of request is served again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import {
  type CaptureServer,
  captureCall,
  expectError,
  expectSuccess,
  replay,
  startCapture,
} from '../helpers/capture.js';
import { callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const skip = testStores().includes('sqlite') ? false : 'VPCMIRROR_TEST_STORES does not list sqlite';

describe('a store that cannot be written for now [sqlite]', { skip }, () => {
  let server: TestServer;
  let capture: CaptureServer;
  const lines: string[] = [];
  before(async () => {
    server = await startTestServer({ store: 'sqlite', logSink: lines });
    capture = await startCapture();
  });
  after(async () => {
    await capture?.close();
    await server?.close();
  });

  test('is ServiceUnavailable (503), logged with its RequestId, and the next request after the lock is served', {
    timeout: 60_000,
  }, async () => {
    const keys = { accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    const create = (token: string) =>
      captureCall(capture, 'vpc-v3', keys, 'CreateTrafficMirrorFilter', {
        RegionId: 'cn-hangzhou',
        ClientToken: token,
      });
    const first = await create('locked-out');
    const second = await create('after-the-lock');
    const holder = new SqliteDatabase(server.database.location);
    try {
      holder.exec('begin exclusive');
      const body = expectError(await replay(server.port, first, 30_000), 503, 'ServiceUnavailable');
      assert.equal(body.Message, 'The request has failed due to a temporary failure of the server.');
      const logged = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === body.RequestId && l.level === 40);
      assert.ok(logged, 'a warning line carries the RequestId');
      assert.match(JSON.stringify(logged), /SQLITE_BUSY/);
      holder.exec('commit');
    } finally {
      holder.close();
    }
    expectSuccess(await replay(server.port, second));
    // The refused request's nonce was written before the store failed it, as after any refusal
    // past the nonce: sent again, it is a replay. The SDKs retry with a new nonce each time.
    expectError(await replay(server.port, first), 400, 'SignatureNonceUsed');
  });

  test('a full disk is ServiceUnavailable (503) with nothing half written, and the same ClientToken succeeds once there is room', async () => {
    const db = server.store.db;
    const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]?.page_count ?? 0;
    // The server's own connection may not grow the file any more: what a full disk does to it.
    await sql.raw(`pragma max_page_count = ${pages}`).execute(db);
    let refused: Record<string, unknown> | undefined;
    let token = '';
    try {
      for (let i = 0; i < 200 && refused === undefined; i++) {
        token = `disk-full-${i}`;
        try {
          await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', {
            RegionId: 'cn-hangzhou',
            TrafficMirrorFilterName: 'disk-full',
            TrafficMirrorFilterDescription: 'x'.repeat(256),
            ClientToken: token,
          });
        } catch (e) {
          refused = e as Record<string, unknown>;
        }
      }
    } finally {
      await sql.raw('pragma max_page_count = 1073741823').execute(db);
    }
    assert.ok(refused, 'the file never filled');
    assert.equal(refused.code, 'ServiceUnavailable', String(refused.message));
    assert.equal(refused.statusCode, 503);
    const count = async () =>
      Number(
        (
          await sql<{
            n: number;
          }>`select count(*) as n from traffic_mirror_filters where name = 'disk-full'`.execute(db)
        ).rows[0]?.n,
      );
    const before = await count();
    const retried = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', {
      RegionId: 'cn-hangzhou',
      TrafficMirrorFilterName: 'disk-full',
      TrafficMirrorFilterDescription: 'x'.repeat(256),
      ClientToken: token,
    });
    assert.match(String(retried.TrafficMirrorFilterId), /^tmf-/);
    assert.equal(await count(), before + 1);
  });
});
