import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLIENT_MODES, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

for (const storeKind of testStores()) {
  describe(`front door [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind });
    });
    after(() => server.close());

    for (const mode of CLIENT_MODES) {
      test(`DescribeRegions succeeds through ${mode}`, async () => {
        const body = await callVia(mode, server, 'DescribeRegions', { AcceptLanguage: 'en-US' });
        assert.match(
          String(body.RequestId),
          /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
        );
        assert.equal(body.Code, undefined);
        const regions = (body.Regions as { Region: Array<Record<string, unknown>> }).Region;
        assert.ok(Array.isArray(regions));
        const hk = regions.find((r) => r.RegionId === 'cn-hongkong');
        assert.deepEqual(hk, {
          RegionId: 'cn-hongkong',
          LocalName: 'China (Hong Kong)',
          RegionEndpoint: 'vpc.aliyuncs.com',
        });
      });

      test(`an unknown action is InvalidAction.NotFound through ${mode}`, async () => {
        const err = await expectCode(
          () => callVia(mode, server, 'CopyTrafficMirrorFilter', { RegionId: 'cn-hangzhou' }),
          'InvalidAction.NotFound',
        );
        assert.match(String(err.message), /Specified api is not found, please check your url and method\./);
      });
    }
  });
}
