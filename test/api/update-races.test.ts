/**
 * Two changes of one resource that overlap, on PostgreSQL with transitions that complete inside the
 * request (`default=0`): the second change must see what the first committed while it waited.
 * The overlap is made certain, not hoped for: a transaction of the test holds the row both
 * requests need, both are seen waiting on it in pg_stat_activity, then it lets go. PostgreSQL
 * grants a row lock to its waiters in the order they came.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { callVia } from '../helpers/clients.js';
import { pgUrl, startTestServer, type TestServer, testStores } from '../helpers/server.js';
import { addRamUser, eni as eni0, makeFilter, makeSession, REGION } from './session-fixtures.js';

describe('overlapping changes of one resource [postgres]', {
  skip: !testStores().includes('postgres') && 'the PostgreSQL leg is not selected',
}, () => {
  let server: TestServer;
  let holder: pg.Client;
  let watcher: pg.Client;
  before(async () => {
    server = await startTestServer({ store: 'postgres', flags: { transitions: 'default=0' } });
    await callVia('vpc-v3', server, 'OpenTrafficMirrorService', { RegionId: REGION });
    const options = `-c search_path=${server.database.schema ?? 'public'}`;
    holder = new pg.Client({ connectionString: pgUrl(), options });
    watcher = new pg.Client({ connectionString: pgUrl() });
    await holder.connect();
    await watcher.connect();
  });
  after(async () => {
    await holder?.end();
    await watcher?.end();
    await server?.close();
  });

  /**
   * Waits (bounded) until `n` sessions wait behind the holder: directly, or behind one that does
   * (the second waiter of a row waits for the first).
   */
  async function waiting(n: number): Promise<void> {
    const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
    for (let i = 0; ; i++) {
      const r = await watcher.query<{ pid: number; blockers: number[] }>(
        'select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity where cardinality(pg_blocking_pids(pid)) > 0',
      );
      const behind = new Set<number>([holderPid ?? -1]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const row of r.rows)
          if (!behind.has(row.pid) && row.blockers.some((b) => behind.has(b))) {
            behind.add(row.pid);
            grew = true;
          }
      }
      if (behind.size - 1 >= n) return;
      assert.ok(i < 400, `${n} requests did not come to wait for the held row within 20 s`);
      await delay(25);
    }
  }

  test('a rule update that waited for the filter keeps the fields another update committed meanwhile', async () => {
    const filter = await makeFilter(server);
    const created = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', {
      RegionId: REGION,
      TrafficMirrorFilterId: filter,
      IngressRules: [
        {
          Action: 'accept',
          Protocol: 'ALL',
          Priority: 1,
          SourceCidrBlock: '10.0.0.0/8',
          DestinationCidrBlock: '0.0.0.0/0',
        },
      ],
    });
    const rule = (created.IngressRules as Array<{ InstanceId: string }>)[0]?.InstanceId ?? '';
    await holder.query('begin');
    await holder.query('select id from traffic_mirror_filters where id = $1 for update', [filter]);
    const first = callVia('vpc-v3', server, 'UpdateTrafficMirrorFilterRuleAttribute', {
      RegionId: REGION,
      TrafficMirrorFilterRuleId: rule,
      SourceCidrBlock: '192.168.0.0/16',
    });
    await waiting(1);
    const second = callVia('vpc-v3', server, 'UpdateTrafficMirrorFilterRuleAttribute', {
      RegionId: REGION,
      TrafficMirrorFilterRuleId: rule,
      Priority: 7,
    });
    await waiting(2);
    await holder.query('rollback');
    await Promise.all([first, second]);
    const listed = await callVia('vpc-v3', server, 'ListTrafficMirrorFilters', {
      RegionId: REGION,
      TrafficMirrorFilterIds: [filter],
    });
    const [after] =
      (listed.TrafficMirrorFilters as Array<{ IngressRules: Array<Record<string, unknown>> }>)[0]
        ?.IngressRules ?? [];
    assert.deepEqual(
      {
        source: after?.SourceCidrBlock,
        priority: after?.Priority,
        status: after?.TrafficMirrorFilterRuleStatus,
      },
      { source: '192.168.0.0/16', priority: 7, status: 'Created' },
    );
  });

  /** How a call ended: 'OK' or its error code. */
  const outcome = (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'OK',
      (e: unknown) => String((e as { code?: unknown }).code),
    );

  /** The session moved to another filter. */
  const moveSession = (session: string, filter: string) =>
    callVia('vpc-v3', server, 'UpdateTrafficMirrorSessionAttribute', {
      RegionId: REGION,
      TrafficMirrorSessionId: session,
      TrafficMirrorFilterId: filter,
    });

  /**
   * Holds the session's row, sends `first` and then `second` (each seen waiting before the next),
   * lets go, and returns how each ended: 'OK' or the error code.
   */
  async function overlap(
    session: string,
    first: [string, Record<string, unknown>],
    second: [string, Record<string, unknown>],
  ): Promise<[string, string]> {
    await holder.query('begin');
    await holder.query('select id from traffic_mirror_sessions where id = $1 for update', [session]);
    const a = outcome(
      callVia('vpc-v3', server, first[0], { RegionId: REGION, TrafficMirrorSessionId: session, ...first[1] }),
    );
    await waiting(1);
    const b = outcome(
      callVia('vpc-v3', server, second[0], {
        RegionId: REGION,
        TrafficMirrorSessionId: session,
        ...second[1],
      }),
    );
    await waiting(2);
    await holder.query('rollback');
    return [await a, await b];
  }

  async function sessionNow(session: string): Promise<Record<string, unknown>> {
    const listed = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
      RegionId: REGION,
      TrafficMirrorSessionIds: [session],
    });
    const [s] = listed.TrafficMirrorSessions as Array<Record<string, unknown>>;
    assert.ok(s);
    return s;
  }

  const retarget = (to: string): [string, Record<string, unknown>] => [
    'UpdateTrafficMirrorSessionAttribute',
    { TrafficMirrorTargetId: to, TrafficMirrorTargetType: 'NetworkInterface' },
  ];
  const add = (eni: string): [string, Record<string, unknown>] => [
    'AddSourcesToTrafficMirrorSession',
    { TrafficMirrorSourceIds: [eni] },
  ];

  test('a change that waited for the session while another changed it is refused as made during a change: a session never mirrors to one of its sources', async () => {
    const filter = await makeFilter(server);
    for (const [label, order] of [
      ['add, then retarget to the added ENI', (eni: string) => [add(eni), retarget(eni)] as const],
      ['retarget, then add the new target', (eni: string) => [retarget(eni), add(eni)] as const],
    ] as const) {
      const session = await makeSession(server, filter);
      const eni = `eni-race${session.slice(-6)}`;
      const [first, second] = order(eni);
      assert.deepEqual(
        await overlap(session, first, second),
        ['OK', 'IncorrectStatus.TrafficMirrorSession'],
        label,
      );
      const s = await sessionNow(session);
      assert.ok(!(s.TrafficMirrorSourceIds as string[]).includes(String(s.TrafficMirrorTargetId)), label);
      assert.equal(s.TrafficMirrorSessionStatus, 'Created', label);
    }
  });

  test('a delete that waited for the filter while the session moved to another filter is refused: that filter was never looked at', async () => {
    const [from, to] = [await makeFilter(server), await makeFilter(server)];
    const session = await makeSession(server, from);
    await holder.query('begin');
    await holder.query('select id from traffic_mirror_filters where id = $1 for update', [from]);
    const deleted = outcome(
      callVia('vpc-v3', server, 'DeleteTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSessionId: session,
      }),
    );
    await waiting(1);
    // The move holds the filter it moves to, not the one the delete waits for: it goes through.
    await moveSession(session, to);
    await holder.query('rollback');
    assert.equal(await deleted, 'IncorrectStatus.TrafficMirrorSession');
    const s = await sessionNow(session);
    assert.deepEqual([s.TrafficMirrorFilterId, s.TrafficMirrorSessionStatus], [to, 'Created']);
  });

  test('a resource group move does not make a change that waited behind it fail: the group is a label', async () => {
    const filter = await makeFilter(server);
    const session = await makeSession(server, filter);
    const moved = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
      RegionId: REGION,
      TrafficMirrorSessionIds: [session],
    });
    const group = String((moved.TrafficMirrorSessions as Array<Record<string, unknown>>)[0]?.ResourceGroupId);
    const move: [string, Record<string, unknown>] = [
      'MoveResourceGroup',
      { ResourceId: session, ResourceType: 'TRAFFICMIRRORSESSION', NewResourceGroupId: 'rg-aek2racemove' },
    ];
    // overlap() sends TrafficMirrorSessionId too; MoveResourceGroup does not know it and ignores it.
    assert.deepEqual(
      await overlap(session, move, [
        'UpdateTrafficMirrorSessionAttribute',
        { TrafficMirrorSessionName: 'after-move' },
      ]),
      ['OK', 'OK'],
    );
    const s = await sessionNow(session);
    assert.deepEqual([s.ResourceGroupId, s.TrafficMirrorSessionName], ['rg-aek2racemove', 'after-move']);
    assert.notEqual(group, 'rg-aek2racemove');
  });

  test('a session moved after RAM judged an update is not moved back by it: the filter RAM was not asked about is refused', async () => {
    const a = await makeFilter(server);
    const b = await makeFilter(server);
    const session = await makeSession(server, a);
    // May update sessions, and use no filter: the session's current one is not asked about again.
    const user = await addRamUser(server, [
      {
        Effect: 'Allow',
        Action: 'vpc:UpdateTrafficMirrorSessionAttribute',
        Resource: 'acs:vpc:*:*:trafficmirrorsession/*',
      },
    ]);
    const token = `move-race-${session}`;
    // The user's request stops between RAM and the operation: its ClientToken row is being written
    // by the holder's open transaction.
    await holder.query('begin');
    await holder.query(
      `insert into client_tokens (account_id, region_id, action, client_token, params_hash, state, response, lease_until, expires_at, owner)
       values ($1, $2, 'UpdateTrafficMirrorSessionAttribute', $3, 'x', 'processing', null, 0, 0, 'holder')`,
      [server.accountId, REGION, token],
    );
    const back = outcome(
      callVia('vpc-v3', user, 'UpdateTrafficMirrorSessionAttribute', {
        RegionId: REGION,
        TrafficMirrorSessionId: session,
        TrafficMirrorFilterId: a,
        ClientToken: token,
      }),
    );
    await waiting(1);
    // Meanwhile the account moves the session to the other filter.
    await moveSession(session, b);
    await holder.query('rollback');
    assert.equal(await back, 'IncorrectStatus.TrafficMirrorSession');
    assert.equal((await sessionNow(session)).TrafficMirrorFilterId, b);
  });

  test('the same source added twice at once: one succeeds, the other is IncorrectStatus, not an internal error', async () => {
    const filter = await makeFilter(server);
    const session = await makeSession(server, filter);
    const eni = eni0();
    assert.deepEqual(await overlap(session, add(eni), add(eni)), [
      'OK',
      'IncorrectStatus.TrafficMirrorSession',
    ]);
    const sources = (await sessionNow(session)).TrafficMirrorSourceIds as string[];
    assert.equal(sources.filter((s) => s === eni).length, 1);
  });
});
