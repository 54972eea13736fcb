/**
 * Quotas and hostile bytes under concurrency: the last free slots of a quota (filters per region,
 * sessions per region, sessions per source ENI) go to exactly as many concurrent calls as fit, on
 * PostgreSQL as on SQLite; a NUL byte is a 400, never a 500.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { insertSession } from '../../src/vpc/traffic-mirror/sessions.repo.js';
import { callVia, expectCode, race, sdkCall, vpcClient } from '../helpers/clients.js';
import { sessionRow } from '../helpers/rows.js';
import {
  pgUrl,
  scratchPgDatabase,
  startTestServer,
  type TestServer,
  testStores,
  withPgAdmin,
} from '../helpers/server.js';
import { makeFilter, sessionParams } from './session-fixtures.js';

for (const storeKind of testStores()) {
  describe(`quota races and NUL bytes [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: '0' } });
    });
    after(() => server.close());

    test('concurrent CreateTrafficMirrorFilter calls for the last free slots: exactly the free ones succeed, the rest get QuotaExceeded.TrafficMirrorFilter', async () => {
      const client = vpcClient(server);
      const limit = server.app.config.limits.filtersPerRegion;
      for (let i = 0; i < limit - 2; i++)
        await sdkCall(client, 'CreateTrafficMirrorFilter', { RegionId: 'cn-shanghai' });
      const { ok, codes } = await race(
        Array.from(
          { length: 6 },
          () => () => sdkCall(vpcClient(server), 'CreateTrafficMirrorFilter', { RegionId: 'cn-shanghai' }),
        ),
      );
      assert.equal(ok, 2);
      assert.deepEqual(codes, Array(4).fill('QuotaExceeded.TrafficMirrorFilter'));
      const list = await sdkCall(client, 'ListTrafficMirrorFilters', {
        RegionId: 'cn-shanghai',
        MaxResults: 1,
      });
      assert.equal(list.TotalCount, String(limit));
    });

    function createSession(regionId: string, filterId: string, priority: number, source: string) {
      return callVia(
        'vpc-v3',
        server,
        'CreateTrafficMirrorSession',
        sessionParams(filterId, { RegionId: regionId, Priority: priority, TrafficMirrorSourceIds: [source] }),
      );
    }

    test("concurrent CreateTrafficMirrorSession calls for a region's last free session slots: exactly the free ones succeed", async () => {
      const limit = server.app.config.limits.sessionsPerRegion;
      const filterId = await makeFilter(server, { regionId: 'cn-beijing' });
      // The quota's first slots are taken by rows written directly (a thousand calls would be slow);
      // the triggers count them like any other.
      await server.store.db.transaction().execute(async (tx) => {
        for (let i = 1; i <= limit - 2; i++)
          await insertSession(tx, sessionRow(`tms-quota${i}`, server.accountId, 'cn-beijing', i));
      });
      const { ok, codes } = await race(
        Array.from(
          { length: 6 },
          (_, i) => () => createSession('cn-beijing', filterId, limit + i, `eni-quota${i}`),
        ),
      );
      assert.equal(ok, 2);
      assert.deepEqual(codes, Array(4).fill('QuotaExceeded.TrafficMirrorSession'));
      // Another region of the same account still has its whole quota.
      const other = await makeFilter(server, { regionId: 'cn-qingdao' });
      await createSession('cn-qingdao', other, 1, 'eni-quotaother');
    });

    test('concurrent calls for the last places of one source ENI (Create and AddSources): exactly the free ones succeed', async () => {
      const limit = server.app.config.limits.sessionsPerSource;
      const filterId = await makeFilter(server, { regionId: 'cn-zhangjiakou' });
      for (let i = 1; i < limit; i++) await createSession('cn-zhangjiakou', filterId, i, 'eni-shared1');
      // Sessions without the ENI yet, to add it to.
      const spare: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await createSession('cn-zhangjiakou', filterId, 100 + i, `eni-spare${i}`);
        spare.push(String(r.TrafficMirrorSessionId));
      }
      const client = vpcClient(server);
      const { ok, codes } = await race([
        ...Array.from(
          { length: 3 },
          (_, i) => () => createSession('cn-zhangjiakou', filterId, 200 + i, 'eni-shared1'),
        ),
        ...spare.map(
          (id) => () =>
            sdkCall(client, 'AddSourcesToTrafficMirrorSession', {
              RegionId: 'cn-zhangjiakou',
              TrafficMirrorSessionId: id,
              TrafficMirrorSourceIds: ['eni-shared1'],
            }),
        ),
      ]);
      assert.equal(ok, 1, 'one place was left');
      assert.deepEqual(codes, Array(5).fill('QuotaExceeded.TrafficMirrorSession'));
    });

    for (const mode of ['vpc-v3', 'pop-post'] as const) {
      test(`a NUL byte in a parameter is InvalidParameter (400) through ${mode}, not a 500`, async () => {
        const err = await expectCode(
          () =>
            callVia(mode, server, 'DeleteTrafficMirrorSession', {
              RegionId: 'cn-hongkong',
              TrafficMirrorSessionId: 'tms-a\u0000b',
            }),
          'InvalidParameter',
        );
        if (mode === 'vpc-v3') assert.equal(err.statusCode, 400);
      });
    }
  });
}

/**
 * A PostgreSQL whose default isolation is SERIALIZABLE, set on the database or in the URL's
 * options: the connection asks for READ COMMITTED after both, which the writers' locking is made
 * for, and explicit transactions ask for it again.
 */
for (const setBy of ['database', 'url'] as const) {
  describe(`concurrent writers on a PostgreSQL whose default isolation is SERIALIZABLE, set by the ${setBy}`, {
    skip: testStores().includes('postgres') ? false : 'the PostgreSQL leg is not selected',
  }, () => {
    let server: TestServer;
    let cleanUp = async () => {};
    before(async () => {
      if (setBy === 'database') {
        const database = await scratchPgDatabase({
          settings: { default_transaction_isolation: 'serializable' },
        });
        cleanUp = () => database.drop();
        server = await startTestServer({
          store: 'postgres',
          database: { location: database.location },
          flags: { transitions: '0' },
        });
      } else {
        const schema = `t_${randomBytes(6).toString('hex')}`;
        const url = new URL(pgUrl());
        url.searchParams.set('options', '-c default_transaction_isolation=serializable');
        server = await startTestServer({
          store: 'postgres',
          database: { location: url.href, schema },
          flags: { transitions: '0' },
        });
        cleanUp = async () => {
          await withPgAdmin((db) => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db));
        };
      }
    });
    after(async () => {
      try {
        await server?.close();
      } finally {
        await cleanUp();
      }
    });

    test('concurrent creates in one account all succeed, as under the READ COMMITTED every transaction asks for', async () => {
      const filterId = await makeFilter(server);
      const sessions = await race(
        Array.from(
          { length: 12 },
          (_, i) => () =>
            callVia(
              'vpc-v3',
              server,
              'CreateTrafficMirrorSession',
              sessionParams(filterId, { Priority: i + 1 }),
            ),
        ),
      );
      assert.deepEqual(sessions, { ok: 12, codes: [] });
      const filters = await race(
        Array.from(
          { length: 8 },
          () => () => callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: 'cn-hangzhou' }),
        ),
      );
      assert.deepEqual(filters, { ok: 8, codes: [] });
    });

    test('concurrent calls with one ClientToken are answered as the first, or LastTokenProcessing, never ServiceUnavailable', async () => {
      for (let round = 0; round < 5; round++) {
        const token = `same-${round}-${randomBytes(4).toString('hex')}`;
        const { codes } = await race(
          Array.from(
            { length: 6 },
            () => () =>
              callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', {
                RegionId: 'cn-hangzhou',
                ClientToken: token,
              }),
          ),
        );
        assert.deepEqual(
          codes.filter((c) => c !== 'OperationFailed.LastTokenProcessing'),
          [],
          `round ${round}`,
        );
      }
    });
  });
}
