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
import Database from 'better-sqlite3';
import { BENCH_ACCOUNT, LIST_REGION } from '../../scripts/bench/layout.js';
import { type ServerProcess, startFloor } from '../../scripts/bench/processes.js';
import { benchListIds, newKey, seedKeys, seedStored } from '../../scripts/bench/seed.js';
import { send, signRequest } from '../../src/cli/client.js';
import { openStore } from '../../src/store/store.js';

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
        signRequest({ endpoint: floor.endpoint, ...key }, 'CreateTrafficMirrorSession', {
          RegionId: LIST_REGION,
          'TrafficMirrorSourceIds.1': 'eni-floorsource000000001',
          TrafficMirrorTargetId: 'eni-floortarget00000001',
          TrafficMirrorTargetType: 'NetworkInterface',
          TrafficMirrorFilterId: 'tmf-floorfilter00000001',
          Priority: '1',
        }),
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
      const rows = db
        .prepare('select id, account_id, region_id from floor_sessions order by seq')
        .all() as Array<{ id: string; account_id: string; region_id: string }>;
      assert.deepEqual(
        rows.map((r) => r.id),
        created,
      );
      assert.ok(rows.every((r) => r.account_id === BENCH_ACCOUNT && r.region_id === LIST_REGION));
    } finally {
      db.close();
    }
  });
});
