/**
 * Quotas and hostile bytes under concurrency: the last free slots of a quota go to exactly as many
 * concurrent creates as fit, on PostgreSQL as on SQLite; a NUL byte is a 400, never a 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callVia, expectCode, sdkCall, vpcClient } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

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
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          sdkCall(vpcClient(server), 'CreateTrafficMirrorFilter', { RegionId: 'cn-shanghai' }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const codes = results.flatMap((r) =>
        r.status === 'rejected' ? [(r.reason as { code?: string }).code] : [],
      );
      assert.equal(ok, 2);
      assert.deepEqual(codes, Array(4).fill('QuotaExceeded.TrafficMirrorFilter'));
      const list = await sdkCall(client, 'ListTrafficMirrorFilters', {
        RegionId: 'cn-shanghai',
        MaxResults: 1,
      });
      assert.equal(list.TotalCount, String(limit));
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
