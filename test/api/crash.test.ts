/**
 * Crash safety: a real `vpcmirror serve` process takes a storm of session creates (each with its
 * own ClientToken) and deletes while it is killed with SIGKILL three times and started again on the
 * same data. Afterwards nothing acknowledged is lost, nothing stays transitional, and retrying the
 * creates whose answers were lost never makes a second session for one token.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { newAccessKeyId, newAccessKeySecret } from '../../src/ids.js';
import { sdkCall, vpcClient } from '../helpers/clients.js';
import { freshPgSchema, ServerProcess } from '../helpers/process.js';
import { type StoreKind, testStores } from '../helpers/server.js';

const REGION = 'cn-hangzhou';
const OPERATIONS = 200;
const PARALLEL = 8;
const KILLS = 3;
/** How long a cut request's ClientToken stays "processing" (pipeline.ts TOKEN_LEASE_MS), plus slack. */
const LEASE_WAIT_MS = 75_000;

type Outcome =
  | { kind: 'ok'; body: Record<string, unknown> }
  | { kind: 'refused'; code: string }
  | { kind: 'lost'; reason: string };

interface CreateOp {
  readonly n: number;
  readonly token: string;
  readonly params: Record<string, unknown>;
  outcome?: Outcome;
  /** When the answer arrived (acknowledged creates only). */
  ackAt?: number;
  /** The session id the create answered. */
  id?: string;
  deleteOutcome?: Outcome;
}

/** A transport failure (connection refused or cut) loses the answer; an API error is an answer. */
function classify(e: unknown): Outcome {
  const err = e as Record<string, unknown>;
  const data = err.data as Record<string, unknown> | undefined;
  const status = typeof err.statusCode === 'number' ? err.statusCode : data?.statusCode;
  if (typeof status === 'number' && typeof err.code === 'string') return { kind: 'refused', code: err.code };
  return { kind: 'lost', reason: String(err.code ?? err.message ?? e) };
}

async function settle(p: Promise<Record<string, unknown>>): Promise<Outcome> {
  try {
    return { kind: 'ok', body: await p };
  } catch (e) {
    return classify(e);
  }
}

function pickKillPoints(): number[] {
  // In the first part of the storm, so that the leases of cut requests mostly run out while the
  // rest of the storm runs, rather than after it.
  const points = new Set<number>();
  while (points.size < KILLS) points.add(10 + Math.floor(Math.random() * (OPERATIONS * 0.35)));
  return [...points].sort((x, y) => x - y);
}

async function crashRun(kind: StoreKind): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vpcmirror-crash-'));
  const pg = kind === 'postgres' ? await freshPgSchema() : undefined;
  const keys = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  const server = await ServerProcess.start({
    args: [
      '--data-dir',
      dataDir,
      ...(pg ? ['--database', pg.url] : []),
      '--transitions',
      'default=200ms',
      '--worker-interval',
      '50',
    ],
    env: { VPCMIRROR_ACCESS_KEY_ID: keys.accessKeyId, VPCMIRROR_ACCESS_KEY_SECRET: keys.accessKeySecret },
  });
  const log = (msg: string) => console.log(`# [${kind}] ${msg}`);
  try {
    let up: Promise<void> = Promise.resolve();
    const call = async (action: string, params: Record<string, unknown>) => {
      await up;
      return sdkCall(vpcClient({ endpoint: server.endpoint, ...keys }), action, params);
    };

    async function listAll(): Promise<Array<Record<string, unknown>>> {
      const out: Array<Record<string, unknown>> = [];
      let token: string | undefined;
      for (let page = 0; page < 50; page++) {
        const body = await call('ListTrafficMirrorSessions', {
          RegionId: REGION,
          MaxResults: 100,
          ...(token ? { NextToken: token } : {}),
        });
        out.push(...(body.TrafficMirrorSessions as Array<Record<string, unknown>>));
        token = typeof body.NextToken === 'string' && body.NextToken !== '' ? body.NextToken : undefined;
        if (!token) return out;
      }
      throw new Error('more than 50 pages of sessions');
    }

    async function settled(what: string): Promise<Array<Record<string, unknown>>> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const all = await listAll();
        const moving = all.filter((s) =>
          ['Creating', 'Modifying', 'Deleting'].includes(String(s.TrafficMirrorSessionStatus)),
        );
        if (moving.length === 0) return all;
        if (Date.now() > deadline)
          throw new Error(`${what}: ${moving.length} sessions still transitional after 30 s`);
        await delay(100);
      }
    }

    // A filter for every session, brought to Created by the server's own worker.
    const filter = await call('CreateTrafficMirrorFilter', { RegionId: REGION, ClientToken: randomUUID() });
    const filterId = String(filter.TrafficMirrorFilterId);
    for (let i = 0; ; i++) {
      const body = await call('ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [filterId],
      });
      const f = (body.TrafficMirrorFilters as Array<Record<string, unknown>>)[0];
      if (f?.TrafficMirrorFilterStatus === 'Created') break;
      assert.ok(i < 100, 'the filter never became Created');
      await delay(50);
    }

    // ---- the storm ----
    const creates: CreateOp[] = [];
    const killAt = pickKillPoints();
    log(`kills before operations ${killAt.join(', ')}`);
    let started = 0;
    const crash = async () => {
      await server.kill();
      await server.restart();
    };
    const worker = async () => {
      for (;;) {
        const n = started++;
        if (n >= OPERATIONS) return;
        if (killAt.includes(n)) {
          // The other workers' requests are in flight: they are cut, or refused at connect.
          up = up.then(crash, crash);
        }
        const deletable = creates.filter(
          (c) => c.id !== undefined && c.deleteOutcome === undefined && Date.now() - (c.ackAt ?? 0) > 300,
        );
        if (n % 4 === 3 && deletable.length > 0) {
          const target = deletable[Math.floor(Math.random() * deletable.length)];
          if (!target) continue;
          target.deleteOutcome = { kind: 'lost', reason: 'not answered yet' };
          target.deleteOutcome = await settle(
            call('DeleteTrafficMirrorSession', { RegionId: REGION, TrafficMirrorSessionId: target.id }),
          );
          continue;
        }
        const op: CreateOp = {
          n,
          token: randomUUID(),
          params: {
            RegionId: REGION,
            TrafficMirrorSourceIds: [`eni-crash${n}`],
            TrafficMirrorTargetId: 'eni-crashtarget',
            TrafficMirrorTargetType: 'NetworkInterface',
            TrafficMirrorFilterId: filterId,
            Priority: n + 1,
            TrafficMirrorSessionName: `op-${n}`,
          },
        };
        creates.push(op);
        op.outcome = await settle(
          call('CreateTrafficMirrorSession', { ...op.params, ClientToken: op.token }),
        );
        if (op.outcome.kind === 'ok') {
          op.id = String(op.outcome.body.TrafficMirrorSessionId);
          op.ackAt = Date.now();
        }
      }
    };
    const stormStart = Date.now();
    await Promise.all(Array.from({ length: PARALLEL }, () => worker()));
    await up;
    assert.equal(server.starts, KILLS + 1, 'the server was killed and restarted three times');

    const count = (ops: Array<Outcome | undefined>, k: Outcome['kind']) =>
      ops.filter((o) => o?.kind === k).length;
    const deleteOutcomes = creates.map((c) => c.deleteOutcome).filter((o) => o !== undefined);
    log(
      `storm done in ${Date.now() - stormStart} ms: creates ok ${count(
        creates.map((c) => c.outcome),
        'ok',
      )}, lost ${count(
        creates.map((c) => c.outcome),
        'lost',
      )}, refused ${count(
        creates.map((c) => c.outcome),
        'refused',
      )}; deletes ok ${count(deleteOutcomes, 'ok')}, lost ${count(deleteOutcomes, 'lost')}, refused ${count(
        deleteOutcomes,
        'refused',
      )}`,
    );
    const reasons = new Map<string, number>();
    for (const o of [...creates.map((c) => c.outcome), ...deleteOutcomes])
      if (o?.kind === 'lost') reasons.set(o.reason, (reasons.get(o.reason) ?? 0) + 1);
    log(`lost answers: ${JSON.stringify(Object.fromEntries(reasons))}`);
    const refusedCreates = creates.filter((c) => c.outcome?.kind === 'refused');
    assert.deepEqual(
      refusedCreates.map((c) => (c.outcome?.kind === 'refused' ? c.outcome.code : '')),
      [],
      'no create is refused: each has its own priority, source and token',
    );
    assert.ok(
      creates.some((c) => c.outcome?.kind === 'lost'),
      'some answers were lost (else no crash hit a request)',
    );

    // ---- nothing stays transitional after the restarts ----
    await settled('after the storm');

    // ---- retry every create with its token: the answer is the same id, or one new session ----
    const retryDeadline = Date.now() + LEASE_WAIT_MS;
    let processingSeen = 0;
    const queue = [...creates];
    const retryOne = async (op: CreateOp) => {
      for (;;) {
        const r = await settle(call('CreateTrafficMirrorSession', { ...op.params, ClientToken: op.token }));
        if (r.kind === 'ok') {
          const id = String(r.body.TrafficMirrorSessionId);
          if (op.id !== undefined) assert.equal(id, op.id, `op ${op.n}: a retry answers the first id`);
          op.id = id;
          break;
        }
        // A request cut by the kill holds its token until the lease runs out.
        if (r.kind === 'refused' && r.code === 'OperationFailed.LastTokenProcessing') {
          processingSeen++;
          assert.ok(Date.now() < retryDeadline, `op ${op.n}: token still processing after the lease`);
          await delay(500);
          continue;
        }
        assert.fail(`op ${op.n}: retry answered ${JSON.stringify(r)}`);
      }
    };
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let op = queue.shift(); op; op = queue.shift()) await retryOne(op);
      }),
    );
    log(`retries done; ${processingSeen} LastTokenProcessing answers while cut leases ran out`);

    // ---- the final state ----
    const all = await settled('after the retries');
    const byName = new Map<string, Array<Record<string, unknown>>>();
    for (const s of all) {
      const name = String(s.TrafficMirrorSessionName);
      byName.set(name, [...(byName.get(name) ?? []), s]);
    }
    for (const op of creates) {
      const found = byName.get(`op-${op.n}`) ?? [];
      assert.ok(found.length <= 1, `op ${op.n}: one ClientToken made ${found.length} sessions`);
      const del = op.deleteOutcome;
      if (del?.kind === 'ok') {
        assert.equal(found.length, 0, `op ${op.n}: deleted on request, yet still listed`);
        continue;
      }
      if (del?.kind === 'lost') continue; // either outcome of a cut delete is correct
      assert.equal(found.length, 1, `op ${op.n} (${op.outcome?.kind}): its session is missing`);
      assert.equal(found[0]?.TrafficMirrorSessionId, op.id);
      assert.equal(found[0]?.TrafficMirrorSessionStatus, 'Created');
    }
    assert.equal(all.length, new Set(all.map((s) => s.TrafficMirrorSessionId)).size);
  } catch (e) {
    log(`server output:\n${server.recentOutput()}`);
    throw e;
  } finally {
    await server.stop();
    await pg?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('crash safety of a real server process', { concurrency: true }, () => {
  for (const kind of testStores()) {
    test(
      `SIGKILL during a storm of creates and deletes loses no acknowledged change and duplicates no ClientToken [${kind}]`,
      {
        timeout: 170_000,
      },
      () => crashRun(kind),
    );
  }
});
