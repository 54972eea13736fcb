/**
 * The call sequences of the Terraform resources alicloud_vpc_traffic_mirror_filter and
 * alicloud_vpc_traffic_mirror_filter_{ingress,egress}_rule (spec clients.md section 3), replayed
 * with the official clients in V1 form-POST style as Terraform's tea-rpc sends them: create, poll
 * the list until Created, update with every field re-sent, move, tag, delete and poll until gone.
 * Polling advances pending transitions between reads, the way time passes between Terraform polls.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ClientMode, callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const REGION = 'cn-hongkong';
type Rule = Record<string, unknown>;
type Filter = Record<string, unknown> & { IngressRules: Rule[]; EgressRules: Rule[] };

/** Terraform's buildClientToken: a fresh token per call. */
let tokens = 0;
function clientToken(action: string): string {
  tokens += 1;
  return `terraform-${action}-${process.pid}-${tokens}`;
}

for (const storeKind of testStores()) {
  for (const transitions of ['manual', '0'] as const) {
    describe(`Terraform filter sequences [${storeKind}, transitions ${transitions}]`, () => {
      let server: TestServer;
      before(async () => {
        server = await startTestServer({ store: storeKind, flags: { transitions } });
      });
      after(() => server.close());

      async function call(mode: ClientMode, action: string, params: Record<string, unknown>) {
        return callVia(mode, server, action, { RegionId: REGION, ...params });
      }

      /** DescribeVpcTrafficMirrorFilter: `$.TrafficMirrorFilters[0]` of a List by id. */
      async function describeFilter(mode: ClientMode, id: string): Promise<Filter | undefined> {
        const body = await call(mode, 'ListTrafficMirrorFilters', { TrafficMirrorFilterIds: [id] });
        assert.ok(Array.isArray(body.TrafficMirrorFilters));
        return (body.TrafficMirrorFilters as Filter[])[0];
      }

      /** The rule resources' read: scan every filter's rules of that direction for the pair of ids. */
      async function describeRule(
        mode: ClientMode,
        direction: 'IngressRules' | 'EgressRules',
        filterId: string,
        ruleId: string,
      ): Promise<Rule | undefined> {
        const body = await call(mode, 'ListTrafficMirrorFilters', { TrafficMirrorFilterIds: [filterId] });
        for (const f of body.TrafficMirrorFilters as Filter[]) {
          for (const r of f[direction]) {
            if (r.TrafficMirrorFilterId === filterId && r.TrafficMirrorFilterRuleId === ruleId) return r;
          }
        }
        return undefined;
      }

      /** StateRefreshFunc with Pending: [] — read until the target holds, time passing between reads. */
      async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
        for (let attempt = 0; attempt < 5; attempt++) {
          const v = await read();
          if (done(v)) return v;
          await server.advance();
        }
        throw new Error(`timed out waiting for ${what}`);
      }

      for (const mode of ['vpc-v1', 'pop-post'] as const) {
        test(`the filter resource: create, wait Created, update, move, tag, untag, delete and wait gone through ${mode}`, async () => {
          // Inline rules with every field present and unset ones empty. The provider sends an unset
          // priority as 0, which is refused (docs/fidelity.md): configurations must name it.
          const created = await call(mode, 'CreateTrafficMirrorFilter', {
            ClientToken: clientToken('CreateTrafficMirrorFilter'),
            TrafficMirrorFilterName: 'tf-test',
            TrafficMirrorFilterDescription: 'tf description',
            IngressRules: [
              {
                Action: 'accept',
                Protocol: 'UDP',
                Priority: 1,
                SourceCidrBlock: '10.0.0.0/24',
                DestinationCidrBlock: '10.0.0.0/24',
                SourcePortRange: '1/120',
                DestinationPortRange: '1/120',
              },
            ],
            EgressRules: [
              {
                Action: 'drop',
                Protocol: 'ICMP',
                Priority: '',
                SourceCidrBlock: '',
                DestinationCidrBlock: '',
                SourcePortRange: '',
                DestinationPortRange: '',
              },
            ],
          });
          const id = String(created.TrafficMirrorFilterId);
          const ready = await waitFor(
            () => describeFilter(mode, id),
            (f) => f?.TrafficMirrorFilterStatus === 'Created',
            'filter Created',
          );
          assert.ok(ready);
          assert.equal(ready.TrafficMirrorFilterName, 'tf-test');
          assert.equal(ready.TrafficMirrorFilterDescription, 'tf description');
          assert.equal(ready.ResourceGroupId, created.ResourceGroupId);
          assert.deepEqual(ready.Tags, []);
          assert.deepEqual(
            ready.IngressRules.map((r) => [r.Protocol, r.SourcePortRange, r.TrafficMirrorFilterRuleStatus]),
            [['UDP', '1/120', 'Created']],
          );
          assert.deepEqual(
            ready.EgressRules.map((r) => [
              r.Protocol,
              r.Priority,
              r.SourceCidrBlock,
              r.SourcePortRange,
              r.TrafficMirrorFilterRuleStatus,
            ]),
            [['ICMP', 1, '0.0.0.0/0', '-1/-1', 'Created']],
          );

          // Update: name and description (autoRetry=false), then resource group, then tags.
          await call(mode, 'UpdateTrafficMirrorFilterAttribute', {
            TrafficMirrorFilterId: id,
            TrafficMirrorFilterName: 'tf-test-renamed',
            TrafficMirrorFilterDescription: 'tf description 2',
          });
          await call(mode, 'MoveResourceGroup', {
            ResourceId: id,
            ResourceType: 'TRAFFICMIRRORFILTER',
            NewResourceGroupId: 'rg-acfmterraform01',
          });
          await call(mode, 'TagResources', {
            ResourceType: 'TRAFFICMIRRORFILTER',
            ResourceId: [id],
            Tag: [
              { Key: 'Created', Value: 'TF' },
              { Key: 'For', Value: 'Test' },
            ],
          });
          await call(mode, 'UnTagResources', {
            ResourceType: 'TRAFFICMIRRORFILTER',
            ResourceId: [id],
            TagKey: ['For'],
          });
          const updated = await describeFilter(mode, id);
          assert.equal(updated?.TrafficMirrorFilterName, 'tf-test-renamed');
          assert.equal(updated?.TrafficMirrorFilterDescription, 'tf description 2');
          assert.equal(updated?.ResourceGroupId, 'rg-acfmterraform01');
          assert.deepEqual(updated?.Tags, [{ Key: 'Created', Value: 'TF' }]);
          assert.equal(updated?.TrafficMirrorFilterStatus, 'Created');

          // Delete, then read until the list no longer has it.
          await call(mode, 'DeleteTrafficMirrorFilter', {
            ClientToken: clientToken('DeleteTrafficMirrorFilter'),
            TrafficMirrorFilterId: id,
          });
          await waitFor(
            () => describeFilter(mode, id),
            (f) => f === undefined,
            'filter gone',
          );
          const tags = await call(mode, 'ListTagResources', {
            ResourceType: 'TRAFFICMIRRORFILTER',
            ResourceId: [id],
          });
          assert.deepEqual((tags.TagResources as { TagResource: unknown[] }).TagResource, []);
        });

        for (const direction of ['IngressRules', 'EgressRules'] as const) {
          test(`the ${direction === 'IngressRules' ? 'ingress' : 'egress'} rule resource: create, wait Created, update re-sending every field with RuleAction, delete, through ${mode}`, async () => {
            const filter = await call(mode, 'CreateTrafficMirrorFilter', {
              ClientToken: clientToken('CreateTrafficMirrorFilter'),
              TrafficMirrorFilterName: 'tf-rules',
            });
            const filterId = String(filter.TrafficMirrorFilterId);
            await waitFor(
              () => describeFilter(mode, filterId),
              (f) => f?.TrafficMirrorFilterStatus === 'Created',
              'filter Created',
            );

            // One-element list; ICMP: the port ranges are left out.
            const created = await call(mode, 'CreateTrafficMirrorFilterRules', {
              ClientToken: clientToken('CreateTrafficMirrorFilterRules'),
              TrafficMirrorFilterId: filterId,
              [direction]: [
                {
                  Action: 'accept',
                  Priority: 1,
                  Protocol: 'ICMP',
                  SourceCidrBlock: '10.0.0.0/24',
                  DestinationCidrBlock: '10.0.1.0/24',
                },
              ],
            });
            const list = created[direction] as Array<{ InstanceId?: unknown }>;
            const ruleId = String(list[0]?.InstanceId);
            assert.match(ruleId, /^tmr-/);
            const resourceId = `${filterId}:${ruleId}`;
            const [fid, rid] = resourceId.split(':');

            const ready = await waitFor(
              () => describeRule(mode, direction, String(fid), String(rid)),
              (r) => r?.TrafficMirrorFilterRuleStatus === 'Created',
              'rule Created',
            );
            assert.deepEqual(
              [
                ready?.Action,
                ready?.Priority,
                ready?.Protocol,
                ready?.SourcePortRange,
                ready?.DestinationPortRange,
              ],
              ['accept', 1, 'ICMP', '-1/-1', '-1/-1'],
            );

            // Update: RuleAction changes; Priority, Protocol and CIDRs are re-sent unchanged.
            await call(mode, 'UpdateTrafficMirrorFilterRuleAttribute', {
              ClientToken: clientToken('UpdateTrafficMirrorFilterRuleAttribute'),
              TrafficMirrorFilterRuleId: rid,
              RuleAction: 'drop',
              Priority: 1,
              Protocol: 'ICMP',
              SourceCidrBlock: '10.0.0.0/24',
              DestinationCidrBlock: '10.0.1.0/24',
            });
            const updated = await waitFor(
              () => describeRule(mode, direction, String(fid), String(rid)),
              (r) => r?.TrafficMirrorFilterRuleStatus === 'Created',
              'rule Created after update',
            );
            assert.deepEqual(
              [updated?.Action, updated?.Priority, updated?.SourceCidrBlock, updated?.DestinationCidrBlock],
              ['drop', 1, '10.0.0.0/24', '10.0.1.0/24'],
            );

            // Switch to TCP with ports: the provider sends the ranges once the protocol needs them.
            await call(mode, 'UpdateTrafficMirrorFilterRuleAttribute', {
              ClientToken: clientToken('UpdateTrafficMirrorFilterRuleAttribute'),
              TrafficMirrorFilterRuleId: rid,
              RuleAction: 'drop',
              Priority: 1,
              Protocol: 'TCP',
              SourceCidrBlock: '10.0.0.0/24',
              DestinationCidrBlock: '10.0.1.0/24',
              SourcePortRange: '80/80',
              DestinationPortRange: '1/65535',
            });
            await waitFor(
              () => describeRule(mode, direction, String(fid), String(rid)),
              (r) => r?.TrafficMirrorFilterRuleStatus === 'Created' && r.SourcePortRange === '80/80',
              'rule Created as TCP',
            );

            // Delete: no wait afterwards; a repeated delete is answered with a NotFound code.
            await call(mode, 'DeleteTrafficMirrorFilterRules', {
              ClientToken: clientToken('DeleteTrafficMirrorFilterRules'),
              TrafficMirrorFilterId: fid,
              TrafficMirrorFilterRuleIds: [rid],
            });
            await server.advance();
            assert.equal(await describeRule(mode, direction, String(fid), String(rid)), undefined);
            await assert.rejects(
              call(mode, 'DeleteTrafficMirrorFilterRules', {
                TrafficMirrorFilterId: fid,
                TrafficMirrorFilterRuleIds: [rid],
              }),
              (e: Record<string, unknown>) => String(e.code).includes('NotFound'),
            );

            await call(mode, 'DeleteTrafficMirrorFilter', { TrafficMirrorFilterId: filterId });
            await waitFor(
              () => describeFilter(mode, filterId),
              (f) => f === undefined,
              'filter gone',
            );
            // Terraform's delete treats this code as "already gone".
            await assert.rejects(
              call(mode, 'DeleteTrafficMirrorFilter', { TrafficMirrorFilterId: filterId }),
              {
                code: 'ResourceNotFound.TrafficMirrorFilter',
              },
            );
          });
        }
      }
    });
  }
}
