/**
 * The benchmark's floor server (scripts/bench/floor-server.mjs). The benchmark reads "out of reach"
 * from what it reaches, which is only true if it does the work it claims: it must answer what the
 * store holds, refuse what is not signed by its key, and keep the rows of its Creates.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Vpc from '@alicloud/vpc20160428';
import Database from 'better-sqlite3';
import { BENCH_ACCOUNT, FLOOR_CREATE_PARAMS, LIST_REGION } from '../../scripts/bench/layout.js';
import { type ServerProcess, startFloor } from '../../scripts/bench/processes.js';
import { benchListIds, newKey, seedKeys, seedStored } from '../../scripts/bench/seed.js';
import { EMPTY_SHA256, v3CanonicalRequest, v3Sign, v3StringToSign } from '../../src/auth/signature.js';
import { hostOf, send, signRequest } from '../../src/cli/client.js';
import { openStore } from '../../src/store/store.js';
import { vpcClient } from '../helpers/clients.js';

describe('the floor server of the benchmark', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-floor-'));
  const key = newKey(BENCH_ACCOUNT, 'user');
  let floor: ServerProcess;
  let ids: string[];

  const list = (id: string, signer = key, now?: Date) =>
    signRequest(
      { endpoint: floor.endpoint, ...signer },
      'ListTrafficMirrorSessions',
      { RegionId: LIST_REGION, 'TrafficMirrorSessionIds.1': id },
      now,
    );

  before(async () => {
    const file = join(dir, 'vpcmirror.sqlite');
    const store = await openStore({ location: file });
    try {
      await seedKeys(store, [key]);
      await seedStored(store, 0, 40);
      ids = await benchListIds(store, 3);
    } finally {
      await store.close();
    }
    assert.ok(ids.length >= 2, 'the seed gives the benchmark account sessions to list');
    floor = await startFloor(dir, file, key);
  });

  after(async () => {
    await floor?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers a signed List by id with the stored session', async () => {
    for (const id of ids) {
      const r = await send(floor.endpoint, list(id));
      assert.equal(r.status, 200);
      assert.equal(r.body.TotalCount, '1');
      const [session] = r.body.TrafficMirrorSessions as Array<Record<string, unknown>>;
      assert.ok(session);
      assert.equal(session.TrafficMirrorSessionId, id);
      assert.equal(session.TrafficMirrorSessionStatus, 'Created');
      assert.equal((session.TrafficMirrorSourceIds as unknown[]).length, 1);
    }
    const none = await send(floor.endpoint, list('tms-notstored0000000000'));
    assert.equal(none.status, 200);
    assert.equal(none.body.TotalCount, '0');
  });

  test('checks the signature as the official SDK makes it', async () => {
    // The floor's own canonical request against the official client's, not against our signer.
    const client = vpcClient({ endpoint: floor.endpoint, ...key });
    const r = await client.listTrafficMirrorSessions(
      new Vpc.ListTrafficMirrorSessionsRequest({
        regionId: LIST_REGION,
        trafficMirrorSessionIds: [ids[0] ?? ''],
      }),
    );
    assert.equal(r.statusCode, 200);
    assert.equal(String(r.body?.totalCount), '1');
    assert.equal(r.body?.trafficMirrorSessions?.[0]?.trafficMirrorSessionId, ids[0]);
    const forged = vpcClient({ endpoint: floor.endpoint, ...key, accessKeySecret: 'not-the-secret' });
    await assert.rejects(
      forged.listTrafficMirrorSessions(new Vpc.ListTrafficMirrorSessionsRequest({ regionId: LIST_REGION })),
      (e: { code?: string }) => e.code === 'SignatureDoesNotMatch',
    );
  });

  test('answers one signed request sent again, as wrk sends it', async () => {
    const signed = list(ids[0] ?? '');
    for (let i = 0; i < 3; i++) {
      const r = await send(floor.endpoint, signed);
      assert.equal(r.status, 200);
      assert.equal(r.body.TotalCount, '1');
    }
  });

  test('refuses a request that leaves a header vpcmirror requires unsigned', async () => {
    const headers: Record<string, string> = {
      host: hostOf(floor.endpoint),
      'x-acs-action': 'ListTrafficMirrorSessions',
      'x-acs-version': '2016-04-28',
      'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-acs-signature-nonce': 'a-nonce-of-its-own-0001',
      'x-acs-content-sha256': EMPTY_SHA256,
    };
    // A true signature, over all but the action.
    const signedNames = Object.keys(headers)
      .filter((n) => n !== 'x-acs-action')
      .sort();
    const pairs: Array<[string, string]> = [
      ['RegionId', LIST_REGION],
      ['TrafficMirrorSessionIds.1', ids[0] ?? ''],
    ];
    const canonical = v3CanonicalRequest(
      'POST',
      pairs,
      signedNames,
      (n) => (headers[n] === undefined ? [] : [headers[n] ?? '']),
      EMPTY_SHA256,
    );
    const signature = v3Sign(key.accessKeySecret, v3StringToSign(canonical));
    headers.authorization = `ACS3-HMAC-SHA256 Credential=${key.accessKeyId},SignedHeaders=${signedNames.join(';')},Signature=${signature}`;
    const r = await send(floor.endpoint, {
      method: 'POST',
      path: `/?RegionId=${LIST_REGION}&TrafficMirrorSessionIds.1=${ids[0]}`,
      headers,
      body: '',
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.Code, 'IncompleteSignature');
  });

  test('refuses what its key did not sign', async () => {
    const forged = await send(
      floor.endpoint,
      list(ids[0] ?? '', { ...key, accessKeySecret: 'not-the-secret' }),
    );
    assert.equal(forged.status, 400);
    assert.equal(forged.body.Code, 'SignatureDoesNotMatch');

    // The query is part of what is signed: another id under the same signature is refused.
    const signed = list(ids[0] ?? '');
    const altered = { ...signed, path: signed.path.replace(ids[0] ?? '', ids[1] ?? '') };
    assert.notEqual(altered.path, signed.path);
    const r = await send(floor.endpoint, altered);
    assert.equal(r.status, 400);
    assert.equal(r.body.Code, 'SignatureDoesNotMatch');

    const stranger = await send(floor.endpoint, list(ids[0] ?? '', newKey(BENCH_ACCOUNT)));
    assert.equal(stranger.status, 404);
    assert.equal(stranger.body.Code, 'InvalidAccessKeyId.NotFound');

    const old = await send(floor.endpoint, list(ids[0] ?? '', key, new Date(Date.now() - 20 * 60_000)));
    assert.equal(old.status, 400);
    assert.equal(old.body.Code, 'InvalidTimeStamp.Expired');
  });

  test('a signed Create is answered after its row is committed to the scratch file', async () => {
    const created: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await send(
        floor.endpoint,
        signRequest({ endpoint: floor.endpoint, ...key }, 'CreateTrafficMirrorSession', FLOOR_CREATE_PARAMS),
      );
      assert.equal(r.status, 200);
      assert.match(String(r.body.TrafficMirrorSessionId), /^tms-[0-9a-f]{20}$/);
      created.push(String(r.body.TrafficMirrorSessionId));
    }
    assert.equal(new Set(created).size, 3);
    // Read by another connection while the floor still runs: answered means committed.
    const scratch = readdirSync(dir).find((f) => /^floor-\d+\.sqlite$/.test(f));
    assert.ok(scratch, 'the floor keeps its Creates in a scratch file of its data directory');
    const db = new Database(join(dir, scratch), { readonly: true });
    try {
      const rows = db.prepare('select id, account_id, region_id from floor_sessions').all() as Array<{
        id: string;
        account_id: string;
        region_id: string;
      }>;
      assert.deepEqual(rows.map((r) => r.id).sort(), [...created].sort());
      assert.ok(rows.every((r) => r.account_id === BENCH_ACCOUNT && r.region_id === LIST_REGION));
    } finally {
      db.close();
    }
  });

  test('a Create it answered survives the floor being killed at once', async () => {
    const own = mkdtempSync(join(tmpdir(), 'vpcmirror-floor-kill-'));
    const killed = await startFloor(own, join(dir, 'vpcmirror.sqlite'), key);
    try {
      const r = await send(
        killed.endpoint,
        signRequest({ endpoint: killed.endpoint, ...key }, 'CreateTrafficMirrorSession', FLOOR_CREATE_PARAMS),
      );
      process.kill(killed.pid, 'SIGKILL');
      assert.equal(r.status, 200);
      await killed.stop();
      const scratch = readdirSync(own).find((f) => /^floor-\d+\.sqlite$/.test(f));
      assert.ok(scratch);
      const db = new Database(join(own, scratch));
      try {
        const row = db
          .prepare('select id from floor_sessions where id = ?')
          .get(r.body.TrafficMirrorSessionId);
        assert.ok(row, 'the answered Create is in the file after kill -9');
      } finally {
        db.close();
      }
    } finally {
      await killed.stop();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
