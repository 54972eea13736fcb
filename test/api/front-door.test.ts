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

      test(`the largest request the API allows, all in the query string (20 tags of 128 CJK characters, full names, 20 rules), goes through ${mode}`, async () => {
        const cjk = (n: number, tail = '') => '漢'.repeat(n - tail.length) + tail;
        const rules = Array.from({ length: 10 }, (_, i) => ({
          Action: 'accept',
          Protocol: 'TCP',
          Priority: i + 1,
          SourceCidrBlock: '10.0.0.0/8',
          DestinationCidrBlock: '192.168.0.0/16',
          SourcePortRange: '1/65535',
          DestinationPortRange: '1/65535',
        }));
        const body = await callVia(mode, server, 'CreateTrafficMirrorFilter', {
          RegionId: 'cn-hangzhou',
          TrafficMirrorFilterName: cjk(128),
          TrafficMirrorFilterDescription: cjk(256),
          Tag: Array.from({ length: 20 }, (_, i) => ({ Key: cjk(128, String(i)), Value: cjk(128) })),
          IngressRules: rules,
          EgressRules: rules,
        });
        const listed = await callVia(mode, server, 'ListTrafficMirrorFilters', {
          RegionId: 'cn-hangzhou',
          TrafficMirrorFilterIds: [String(body.TrafficMirrorFilterId)],
        });
        const [filter] = listed.TrafficMirrorFilters as Array<{ Tags: unknown[]; IngressRules: unknown[] }>;
        assert.equal(filter?.Tags.length, 20);
        assert.equal(filter?.IngressRules.length, 10);
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
