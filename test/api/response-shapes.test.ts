/**
 * Every operation answered through the official V3 client, each answer held to the operation's
 * declared response (src/api/response.ts): every declared field present with its JSON type, and
 * nothing undeclared. The unit test of the same name holds the declarations to the SDK's models.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OPERATIONS } from '../../src/api/registry.js';
import { responseProblems } from '../../src/api/response.js';
import { callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const REGION = 'cn-hangzhou';
const RULE = {
  Action: 'accept',
  Protocol: 'TCP',
  Priority: 1,
  SourceCidrBlock: '10.0.0.0/8',
  DestinationCidrBlock: '0.0.0.0/0',
  SourcePortRange: '1/65535',
  DestinationPortRange: '80/80',
};

for (const storeKind of testStores()) {
  describe(`response shapes [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'default=0' } });
    });
    after(() => server.close());

    test('every operation answers exactly the fields it declares, with their JSON types', async () => {
      const answered = new Set<string>();
      const call = async (action: string, params: Record<string, unknown>) => {
        const body = await callVia('vpc-v3', server, action, params);
        const op = OPERATIONS.get(action);
        assert.ok(op, action);
        assert.deepEqual(responseProblems({ RequestId: 'string', ...op.response }, body), [], action);
        answered.add(action);
        return body;
      };
      await call('DescribeRegions', {});
      await call('OpenTrafficMirrorService', { RegionId: REGION });
      await call('GetTrafficMirrorServiceStatus', { RegionId: REGION });
      const filter = String(
        (
          await call('CreateTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterName: 'shapes',
            Tag: [{ Key: 'k', Value: 'v' }],
            IngressRules: [RULE],
            EgressRules: [{ ...RULE, Protocol: 'ALL' }],
          })
        ).TrafficMirrorFilterId,
      );
      const rules = await call('CreateTrafficMirrorFilterRules', {
        RegionId: REGION,
        TrafficMirrorFilterId: filter,
        IngressRules: [{ ...RULE, Priority: 2 }],
      });
      const [rule] = rules.IngressRules as Array<{ InstanceId: string }>;
      await call('UpdateTrafficMirrorFilterRuleAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterRuleId: rule?.InstanceId,
        RuleAction: 'drop',
      });
      await call('UpdateTrafficMirrorFilterAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterId: filter,
        TrafficMirrorFilterDescription: 'd',
      });
      const filters = await call('ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [filter],
      });
      const [listedFilter] = filters.TrafficMirrorFilters as Array<Record<string, unknown[]>>;
      assert.deepEqual(
        [listedFilter?.Tags?.length, listedFilter?.IngressRules?.length, listedFilter?.EgressRules?.length],
        [1, 2, 1],
        'the lists the shape check walked were not empty',
      );
      const session = String(
        (
          await call('CreateTrafficMirrorSession', {
            RegionId: REGION,
            TrafficMirrorFilterId: filter,
            TrafficMirrorTargetId: 'eni-target000000000001',
            TrafficMirrorTargetType: 'NetworkInterface',
            Priority: 1,
            TrafficMirrorSourceIds: ['eni-source000000000001'],
            Tag: [{ Key: 'k', Value: 'v' }],
          })
        ).TrafficMirrorSessionId,
      );
      await call('UpdateTrafficMirrorSessionAttribute', {
        RegionId: REGION,
        TrafficMirrorSessionId: session,
        TrafficMirrorSessionName: 'renamed',
      });
      await call('AddSourcesToTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSessionId: session,
        TrafficMirrorSourceIds: ['eni-source000000000002'],
      });
      await call('RemoveSourcesFromTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSessionId: session,
        TrafficMirrorSourceIds: ['eni-source000000000002'],
      });
      const sessions = await call('ListTrafficMirrorSessions', {
        RegionId: REGION,
        TrafficMirrorSessionIds: [session],
      });
      const [listedSession] = sessions.TrafficMirrorSessions as Array<Record<string, unknown[]>>;
      assert.deepEqual([listedSession?.Tags?.length, listedSession?.TrafficMirrorSourceIds?.length], [1, 1]);
      const tagged = { RegionId: REGION, ResourceType: 'TrafficMirrorSession', ResourceId: [session] };
      await call('TagResources', { ...tagged, Tag: [{ Key: 'k2', Value: 'v2' }] });
      const tags = await call('ListTagResources', tagged);
      assert.equal((tags.TagResources as { TagResource: unknown[] }).TagResource.length, 2);
      await call('UnTagResources', { ...tagged, TagKey: ['k2'] });
      await call('MoveResourceGroup', {
        RegionId: REGION,
        ResourceType: 'TrafficMirrorSession',
        ResourceId: session,
        NewResourceGroupId: 'rg-shapes0001',
      });
      await call('DeleteTrafficMirrorSession', { RegionId: REGION, TrafficMirrorSessionId: session });
      await call('DeleteTrafficMirrorFilterRules', {
        RegionId: REGION,
        TrafficMirrorFilterId: filter,
        TrafficMirrorFilterRuleIds: [rule?.InstanceId],
      });
      await call('DeleteTrafficMirrorFilter', { RegionId: REGION, TrafficMirrorFilterId: filter });
      assert.deepEqual([...answered].sort(), [...OPERATIONS.keys()].sort(), 'every operation was answered');
    });
  });
}
