/**
 * Races through the official clients: simultaneous requests on one session (or one priority)
 * have exactly one winner, also when they arrive at two nodes sharing one store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Transaction } from 'kysely';
import { newResourceId } from '../../src/ids.js';
import type { Database } from '../../src/store/database.js';
import { CLIENT_MODES, type Credentials, callVia, expectCode, race } from '../helpers/clients.js';
import { untilWaiting } from '../helpers/pg-waits.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';
import {
  deleteCall,
  getSession,
  makeFilter,
  makeSession,
  nodeWithLimits,
  REGION,
  sessionParams,
  statusOf,
} from './session-fixtures.js';

/** Holds the filter's row as a writer on another node does: a no-op update, to the end of `trx`. */
async function holdFilterRow(trx: Transaction<Database>, filterId: string): Promise<void> {
  await trx
    .updateTable('traffic_mirror_filters')
    .set({ status: 'Created' })
    .where('id', '=', filterId)
    .execute();
}

/**
 * Starts a call while `trx` (another node, caught mid-transaction) holds rows, and returns once the
 * call waits for `trx`; with `mayFinish`, also once it has ended instead (the race lost).
 */
async function startBlockedBy<T>(
  trx: Transaction<Database>,
  call: () => Promise<T>,
  expect: { what: string; rows: string; mayFinish?: boolean },
): Promise<{ running: Promise<T> }> {
  let settled = false;
  const running = call().finally(() => {
    settled = true;
  });
  running.catch(() => undefined);
  await untilWaiting(trx, () => settled, {
    what: `${expect.what}, racing for ${expect.rows},`,
    mayFinish: expect.mayFinish,
  });
  return { running };
}

for (const storeKind of testStores()) {
  describe(`session races [${storeKind}]`, () => {
    let server: TestServer;
    let second: { creds: Credentials; close(): Promise<void> };
    let filter: string;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      second = await nodeWithLimits(server, {});
      filter = await makeFilter(server);
    });
    after(async () => {
      await second.close();
      await server.close();
    });

    /** Alternates the two nodes and the four client modes. */
    function via(i: number): { mode: (typeof CLIENT_MODES)[number]; creds: Credentials } {
      return {
        mode: CLIENT_MODES[i % CLIENT_MODES.length] ?? 'vpc-v3',
        creds: i % 2 === 0 ? server : second.creds,
      };
    }

    test('20 simultaneous deletes of one session: exactly one succeeds, 19 get IncorrectStatus.TrafficMirrorSession', async () => {
      const id = await makeSession(server, filter);
      const { ok, codes } = await race(
        Array.from({ length: 20 }, (_, i) => () => deleteCall(server, id, {}, via(i))),
      );
      assert.equal(ok, 1);
      assert.deepEqual(codes, Array(19).fill('IncorrectStatus.TrafficMirrorSession'));
      assert.equal(await statusOf(server, id), 'Deleting');
      const pending = await server.app.lifecycle.pending();
      assert.equal(pending.filter((p) => p.resourceId === id).length, 1);
      await server.advance({ resourceId: id });
      assert.equal(await getSession(server, id), undefined);
    });

    test('simultaneous Update, AddSources, RemoveSources and Delete of one session: exactly one wins', async () => {
      const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ['eni-race0'] });
      const calls = Array.from({ length: 12 }, (_, i) => () => {
        const v = via(i);
        const base = { RegionId: REGION, TrafficMirrorSessionId: id };
        switch (i % 4) {
          case 0:
            return callVia(v.mode, v.creds, 'UpdateTrafficMirrorSessionAttribute', {
              ...base,
              Enabled: true,
            });
          case 1:
            return callVia(v.mode, v.creds, 'AddSourcesToTrafficMirrorSession', {
              ...base,
              TrafficMirrorSourceIds: [`eni-race${i}`],
            });
          case 2:
            return callVia(v.mode, v.creds, 'RemoveSourcesFromTrafficMirrorSession', {
              ...base,
              TrafficMirrorSourceIds: ['eni-race0'],
            });
          default:
            return deleteCall(server, id, {}, v);
        }
      });
      const { ok, codes } = await race(calls);
      assert.equal(ok, 1);
      assert.deepEqual(codes, Array(11).fill('IncorrectStatus.TrafficMirrorSession'));
      assert.match(await statusOf(server, id), /^(Modifying|Deleting)$/);
    });

    test('10 simultaneous creates with one priority: exactly one session holds it', async () => {
      const params = sessionParams(filter);
      const { ok, codes } = await race(
        Array.from({ length: 10 }, (_, i) => () => {
          const v = via(i);
          return callVia(v.mode, v.creds, 'CreateTrafficMirrorSession', {
            ...params,
            TrafficMirrorSourceIds: [`eni-prio${i}`],
          });
        }),
      );
      assert.equal(ok, 1);
      assert.equal(codes.length, 9);
      // A loser that checked before the winner committed is caught by the unique index.
      for (const c of codes) assert.ok(c === 'InvalidParameter' || c === 'OperationConflict', c);
      const list = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
        RegionId: REGION,
        Priority: params.Priority,
      });
      assert.equal(list.TotalCount, '1');
    });

    test("Delete racing with an uncommitted rule change on the session's filter (another node) waits for it and is IncorrectStatus.TrafficMirrorFilter", {
      skip: storeKind === 'sqlite' && 'SQLite runs one write transaction at a time',
    }, async () => {
      const f = await makeFilter(server);
      const id = await makeSession(server, f);
      // Stands for CreateTrafficMirrorFilterRules on another node, caught between taking the
      // filter row and committing: no client can hold a request at that point.
      let deleting: Promise<unknown> | undefined;
      await server.store.db.transaction().execute(async (trx) => {
        await holdFilterRow(trx, f);
        await trx
          .insertInto('traffic_mirror_filter_rules')
          .values({
            id: newResourceId('TrafficMirrorFilterRule'),
            filter_id: f,
            direction: 'ingress',
            rule_action: 'accept',
            protocol: 'ALL',
            priority: 1,
            source_cidr_block: '0.0.0.0/0',
            destination_cidr_block: '0.0.0.0/0',
            source_port_range: '-1/-1',
            destination_port_range: '-1/-1',
            ip_version: 'IPv4',
            status: 'Creating',
            created_at: Date.now(),
          })
          .execute();
        // Commit once the delete either finished (the race lost) or waits for this transaction.
        ({ running: deleting } = await startBlockedBy(trx, () => deleteCall(server, id, {}, via(1)), {
          what: 'the delete',
          rows: 'the filter',
          mayFinish: true,
        }));
      });
      await expectCode(() => deleting ?? Promise.resolve(), 'IncorrectStatus.TrafficMirrorFilter');
      assert.equal(await statusOf(server, id), 'Created');
    });

    test("Create waiting for its filter's row holds no other lock: a delete of the region's sessions holding that row goes through", {
      skip: storeKind === 'sqlite' && 'SQLite runs one write transaction at a time',
    }, async () => {
      const f = await makeFilter(server);
      const doomed = await makeSession(server, f);
      // Stands for a DeleteTrafficMirrorSession finishing at once on another node: it holds the
      // filter's row, then deletes a session, whose counting trigger takes the region's counter.
      // A Create that took the counter before the filter would make the two wait for each other.
      let creating: Promise<Record<string, unknown>> | undefined;
      await server.store.db.transaction().execute(async (trx) => {
        await holdFilterRow(trx, f);
        ({ running: creating } = await startBlockedBy(
          trx,
          () => callVia('vpc-v3', server, 'CreateTrafficMirrorSession', sessionParams(f)),
          { what: 'the create', rows: 'the filter row' },
        ));
        await trx.deleteFrom('traffic_mirror_session_sources').where('session_id', '=', doomed).execute();
        await trx.deleteFrom('traffic_mirror_sessions').where('id', '=', doomed).execute();
      });
      const created = await (creating ?? Promise.reject(new Error('no create')));
      assert.match(String(created.TrafficMirrorSessionId), /^tms-/);
      assert.equal(await getSession(server, doomed), undefined);
    });

    test("a Create its input alone refuses does not wait for the filter's row another node holds", {
      skip: storeKind === 'sqlite' && 'SQLite runs one write transaction at a time',
    }, async () => {
      const f = await makeFilter(server);
      const faults = [
        { fault: { ResourceGroupId: 'group-1' }, code: 'InvalidResourceGroupId' },
        { fault: { TrafficMirrorTargetType: 'SLB' }, code: 'InvalidParameter' },
        { fault: { TrafficMirrorSourceIds: ['eni-twice', 'eni-twice'] }, code: 'InvalidParameter' },
        {
          fault: { TrafficMirrorSourceIds: Array.from({ length: 11 }, (_, i) => `eni-many${i}`) },
          code: 'QuotaExceeded.TrafficMirrorSource',
        },
      ];
      for (const { fault, code } of faults) {
        let refused: Promise<unknown> | undefined;
        let answered = false;
        await server.store.db.transaction().execute(async (trx) => {
          await holdFilterRow(trx, f);
          ({ running: refused } = await startBlockedBy(
            trx,
            () =>
              callVia('vpc-v3', server, 'CreateTrafficMirrorSession', sessionParams(f, fault)).finally(() => {
                answered = true;
              }),
            { what: 'the refused create', rows: 'the filter row', mayFinish: true },
          ));
          // Had it waited for the row, it would still be waiting now.
          assert.ok(answered, `${JSON.stringify(fault)} waited for the filter's row`);
        });
        await expectCode(() => refused ?? Promise.resolve(), code);
      }
    });

    test('a request PostgreSQL ends to break a deadlock runs again: RemoveSources against a reset is answered, not a 500', {
      skip: storeKind === 'sqlite' && 'SQLite runs one write transaction at a time',
    }, async () => {
      const f = await makeFilter(server);
      const id = await makeSession(server, f, { TrafficMirrorSourceIds: ['eni-deadlock1', 'eni-deadlock2'] });
      // Stands for an admin reset: it deletes the sources first, then the sessions. The request
      // holds the session's row and waits for a source row; the reset then waits for the session's
      // row. PostgreSQL ends the request, which waited first; it must be run again, not answered 500.
      let removing: Promise<Record<string, unknown>> | undefined;
      await server.store.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('traffic_mirror_session_sources').where('session_id', '=', id).execute();
        ({ running: removing } = await startBlockedBy(
          trx,
          () =>
            callVia('vpc-v3', server, 'RemoveSourcesFromTrafficMirrorSession', {
              RegionId: REGION,
              TrafficMirrorSessionId: id,
              TrafficMirrorSourceIds: ['eni-deadlock1'],
            }),
          { what: 'the request', rows: 'the source rows' },
        ));
        await trx.deleteFrom('traffic_mirror_sessions').where('id', '=', id).execute();
      });
      const err = await (removing ?? Promise.resolve({})).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      // Run again while or after the reset commits: read committed, each of its reads may find the
      // session gone, its sources gone, or its row being deleted; each is a client error.
      assert.ok(
        [
          'ResourceNotFound.TrafficMirrorSession',
          'IncorrectStatus.TrafficMirrorSession',
          'InvalidParameter',
        ].includes(err?.code ?? ''),
        `answered ${err?.code ?? 'with success'}`,
      );
      assert.equal(await getSession(server, id), undefined);
    });

    test('20 simultaneous deletes with one ClientToken: one deletion, every answer a success or LastTokenProcessing', async () => {
      const id = await makeSession(server, filter);
      const { ok, codes } = await race(
        Array.from(
          { length: 20 },
          (_, i) => () => deleteCall(server, id, { ClientToken: `same-${id}` }, via(i)),
        ),
      );
      assert.ok(ok >= 1);
      for (const c of codes) assert.equal(c, 'OperationFailed.LastTokenProcessing');
      assert.equal(await statusOf(server, id), 'Deleting');
      const again = await deleteCall(server, id, { ClientToken: `same-${id}` });
      assert.deepEqual(Object.keys(again), ['RequestId']);
    });
  });
}
