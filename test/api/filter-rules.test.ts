/**
 * Traffic mirror filter rules through the official clients (spec filters.md sections 4, 5, 8, 9):
 * CreateTrafficMirrorFilterRules, UpdateTrafficMirrorFilterRuleAttribute and
 * DeleteTrafficMirrorFilterRules, their asynchronous states, validation, priorities, quota,
 * DryRun, ClientToken, RAM resource names, races and the interplay with sessions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Vpc from '@alicloud/vpc20160428';
import { newAccessKeyId, newAccessKeySecret, newAccountId, newResourceId } from '../../src/ids.js';
import { insertAccessKey, insertAccount } from '../../src/store/credentials.repo.js';
import { REQUEST_ID } from '../helpers/capture.js';
import {
  CLIENT_MODES,
  type ClientMode,
  type Credentials,
  callVia,
  expectCode,
  vpcClient,
} from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const REGION = 'cn-hangzhou';
type Rule = Record<string, unknown>;
type Filter = Record<string, unknown> & { IngressRules: Rule[]; EgressRules: Rule[] };

function modeAt(i: number): ClientMode {
  return CLIENT_MODES[i % CLIENT_MODES.length] ?? 'vpc-v3';
}

function messageOf(err: Record<string, unknown>): string {
  const data = err.data as Record<string, unknown> | undefined;
  return String(data?.Message ?? err.message);
}

function accessKeyRow(
  accountId: string,
  key: { accessKeyId: string; accessKeySecret: string },
  userName: string | null,
) {
  return {
    access_key_id: key.accessKeyId,
    secret: key.accessKeySecret,
    account_id: accountId,
    user_name: userName,
    role_name: null,
    status: 'Active',
    security_token: null,
    expires_at: null,
    session_policy: null,
    created_at: Date.now(),
  };
}

/** Seeds a second account with its own root AccessKey (fixture data, not an API call). */
async function foreignAccount(server: TestServer): Promise<Credentials> {
  const accountId = newAccountId();
  const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  await insertAccount(server.store.db, {
    id: accountId,
    name: 'other',
    default_resource_group_id: newResourceId('ResourceGroup'),
    created_at: Date.now(),
  });
  await insertAccessKey(server.store.db, accessKeyRow(accountId, key, null));
  return { endpoint: server.endpoint, ...key };
}

/** Seeds a RAM user of the server's account, with an optional custom policy attached. */
async function ramUser(server: TestServer, policy?: unknown): Promise<Credentials> {
  const userName = `u${newAccessKeyId().slice(4, 12).toLowerCase()}`;
  const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  const db = server.store.db;
  await insertAccessKey(db, accessKeyRow(server.accountId, key, userName));
  if (policy !== undefined) {
    await db
      .insertInto('policies')
      .values({
        account_id: server.accountId,
        policy_name: `p-${userName}`,
        document: JSON.stringify(policy),
        description: '',
        created_at: Date.now(),
      })
      .execute();
    await db
      .insertInto('policy_attachments')
      .values({
        account_id: server.accountId,
        principal_type: 'User',
        principal_name: userName,
        policy_type: 'Custom',
        policy_name: `p-${userName}`,
      })
      .execute();
  }
  return { endpoint: server.endpoint, ...key };
}

function deniedResources(err: Record<string, unknown>): unknown {
  const data = err.data as { AccessDeniedDetail?: { EncodedDiagnosticMessage?: string } } | undefined;
  const encoded = data?.AccessDeniedDetail?.EncodedDiagnosticMessage;
  assert.ok(encoded, 'Forbidden.RAM carries AccessDeniedDetail.EncodedDiagnosticMessage');
  return (JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { AuthResource: unknown })
    .AuthResource;
}

const TCP = { Action: 'accept', Protocol: 'TCP', SourcePortRange: '1/65535', DestinationPortRange: '22/22' };
const ALL = { Action: 'drop', Protocol: 'ALL' };

let eniCounter = 0;
function eni(): string {
  eniCounter += 1;
  return `eni-rules${process.pid}x${eniCounter}`;
}
let sessionPriority = 500;

for (const storeKind of testStores()) {
  describe(`traffic mirror filter rules [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
    });
    after(() => server.close());

    async function filter(params: Record<string, unknown> = {}, ready = true): Promise<string> {
      const body = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        ...params,
      });
      const id = String(body.TrafficMirrorFilterId);
      if (ready) await server.advance({ resourceId: id });
      return id;
    }
    async function find(id: string): Promise<Filter | undefined> {
      const body = await callVia('vpc-v3', server, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [id],
      });
      return (body.TrafficMirrorFilters as Filter[])[0];
    }
    async function rule(filterId: string, ruleId: string): Promise<Rule | undefined> {
      const f = await find(filterId);
      return [...(f?.IngressRules ?? []), ...(f?.EgressRules ?? [])].find(
        (r) => r.TrafficMirrorFilterRuleId === ruleId,
      );
    }
    async function addRules(
      filterId: string,
      rules: { IngressRules?: unknown[]; EgressRules?: unknown[] },
      mode: ClientMode = 'vpc-v3',
      ready = true,
    ): Promise<{ ingress: string[]; egress: string[] }> {
      const body = await callVia(mode, server, 'CreateTrafficMirrorFilterRules', {
        RegionId: REGION,
        TrafficMirrorFilterId: filterId,
        ...rules,
      });
      const ingress = (body.IngressRules as Array<{ InstanceId: string }>).map((r) => r.InstanceId);
      const egress = (body.EgressRules as Array<{ InstanceId: string }>).map((r) => r.InstanceId);
      if (ready) for (const id of [...ingress, ...egress]) await server.advance({ resourceId: id });
      return { ingress, egress };
    }
    function updateRule(params: Record<string, unknown>, mode: ClientMode = 'vpc-v3') {
      return callVia(mode, server, 'UpdateTrafficMirrorFilterRuleAttribute', { RegionId: REGION, ...params });
    }
    function deleteRules(filterId: string, ruleIds: string[], mode: ClientMode = 'vpc-v3', extra = {}) {
      return callVia(mode, server, 'DeleteTrafficMirrorFilterRules', {
        RegionId: REGION,
        TrafficMirrorFilterId: filterId,
        TrafficMirrorFilterRuleIds: ruleIds,
        ...extra,
      });
    }

    for (const mode of CLIENT_MODES) {
      test(`CreateTrafficMirrorFilterRules answers the new rule ids per direction in request order, Creating then Created, through ${mode}`, async () => {
        const f = await filter();
        const body = await callVia(mode, server, 'CreateTrafficMirrorFilterRules', {
          RegionId: REGION,
          TrafficMirrorFilterId: f,
          IngressRules: [
            { ...TCP, Priority: 5 },
            { ...ALL, Priority: 2 },
          ],
          EgressRules: [
            { Action: 'accept', Protocol: 'ICMP', IpVersion: 'IPv6', DestinationCidrBlock: 'fd00::/8' },
          ],
        });
        assert.deepEqual(Object.keys(body).sort(), ['EgressRules', 'IngressRules', 'RequestId']);
        const ingress = body.IngressRules as Array<{ InstanceId: string }>;
        const egress = body.EgressRules as Array<{ InstanceId: string }>;
        assert.equal(ingress.length, 2);
        assert.equal(egress.length, 1);
        for (const r of [...ingress, ...egress]) {
          assert.deepEqual(Object.keys(r), ['InstanceId']);
          assert.match(r.InstanceId, /^tmr-[a-z0-9]{21}$/);
        }
        const [first, second] = ingress;
        const listed = await find(f);
        // Listed by priority, so the second requested (priority 2) comes first.
        assert.deepEqual(
          listed?.IngressRules.map((r) => [
            r.TrafficMirrorFilterRuleId,
            r.Priority,
            r.TrafficMirrorFilterRuleStatus,
          ]),
          [
            [second?.InstanceId, 2, 'Creating'],
            [first?.InstanceId, 5, 'Creating'],
          ],
        );
        assert.deepEqual(listed?.EgressRules[0], {
          TrafficMirrorFilterRuleId: egress[0]?.InstanceId,
          TrafficMirrorFilterId: f,
          TrafficDirection: 'egress',
          Action: 'accept',
          Protocol: 'ICMP',
          Priority: 1,
          SourceCidrBlock: '::/0',
          DestinationCidrBlock: 'fd00::/8',
          SourcePortRange: '-1/-1',
          DestinationPortRange: '-1/-1',
          IpVersion: 'IPv6',
          TrafficMirrorFilterRuleStatus: 'Creating',
        });
        // The filter itself stays Created while its rules are being created.
        assert.equal(listed?.TrafficMirrorFilterStatus, 'Created');
        for (const r of [...ingress, ...egress])
          assert.equal(await server.advance({ resourceId: r.InstanceId }), 1);
        const done = await find(f);
        assert.deepEqual(
          [...(done?.IngressRules ?? []), ...(done?.EgressRules ?? [])].map(
            (r) => r.TrafficMirrorFilterRuleStatus,
          ),
          ['Created', 'Created', 'Created'],
        );
      });

      test(`UpdateTrafficMirrorFilterRuleAttribute goes Modifying then Created and DeleteTrafficMirrorFilterRules goes Deleting then gone through ${mode}`, async () => {
        const f = await filter();
        const {
          ingress: [r1, r2],
        } = await addRules(f, { IngressRules: [TCP, ALL] });
        assert.ok(r1 && r2);
        const answer = await updateRule(
          { TrafficMirrorFilterRuleId: r1, RuleAction: 'drop', DestinationPortRange: '80/443', Priority: 7 },
          mode,
        );
        assert.deepEqual(Object.keys(answer), ['RequestId']);
        const modifying = await rule(f, r1);
        assert.equal(modifying?.TrafficMirrorFilterRuleStatus, 'Modifying');
        assert.equal(modifying?.Action, 'drop');
        assert.equal(modifying?.DestinationPortRange, '80/443');
        assert.equal(modifying?.SourcePortRange, '1/65535');
        assert.equal(modifying?.Priority, 7);
        await server.advance({ resourceId: r1 });
        assert.equal((await rule(f, r1))?.TrafficMirrorFilterRuleStatus, 'Created');

        const deleted = await deleteRules(f, [r1, r2], mode);
        assert.deepEqual(Object.keys(deleted), ['RequestId']);
        assert.equal((await rule(f, r1))?.TrafficMirrorFilterRuleStatus, 'Deleting');
        assert.equal((await rule(f, r2))?.TrafficMirrorFilterRuleStatus, 'Deleting');
        await server.advance({ resourceId: r1 });
        await server.advance({ resourceId: r2 });
        const after = await find(f);
        assert.deepEqual(after?.IngressRules, []);
        assert.equal(after?.TrafficMirrorFilterStatus, 'Created');
      });
    }

    test('the typed CreateTrafficMirrorFilterRules and UpdateTrafficMirrorFilterRuleAttribute models of @alicloud/vpc20160428 read the answers: rule ids per direction, then the RequestId', async () => {
      const f = await filter();
      const client = vpcClient(server);
      const created = await client.createTrafficMirrorFilterRules(
        new Vpc.CreateTrafficMirrorFilterRulesRequest({
          regionId: REGION,
          trafficMirrorFilterId: f,
          ingressRules: [
            new Vpc.CreateTrafficMirrorFilterRulesRequestIngressRules({
              action: 'accept',
              protocol: 'TCP',
              priority: 4,
              sourcePortRange: '1/65535',
              destinationPortRange: '22/22',
            }),
          ],
          egressRules: [
            new Vpc.CreateTrafficMirrorFilterRulesRequestEgressRules({ action: 'drop', protocol: 'ALL' }),
            new Vpc.CreateTrafficMirrorFilterRulesRequestEgressRules({ action: 'accept', protocol: 'ICMP' }),
          ],
        }),
      );
      const ingress = (created.body?.ingressRules ?? []).map((r) => r.instanceId ?? '');
      const egress = (created.body?.egressRules ?? []).map((r) => r.instanceId ?? '');
      assert.equal(ingress.length, 1);
      assert.equal(egress.length, 2);
      for (const id of [...ingress, ...egress]) assert.match(id, /^tmr-[a-z0-9]{21}$/);
      assert.equal(new Set([...ingress, ...egress]).size, 3);
      assert.equal((await rule(f, ingress[0] ?? ''))?.Priority, 4);
      for (const id of [...ingress, ...egress]) await server.advance({ resourceId: id });

      const updated = await client.updateTrafficMirrorFilterRuleAttribute(
        new Vpc.UpdateTrafficMirrorFilterRuleAttributeRequest({
          regionId: REGION,
          trafficMirrorFilterRuleId: ingress[0],
          ruleAction: 'drop',
          priority: 9,
        }),
      );
      assert.equal(updated.statusCode, 200);
      assert.match(updated.body?.requestId ?? '', REQUEST_ID);
      const changed = await rule(f, ingress[0] ?? '');
      assert.deepEqual(
        [changed?.Action, changed?.Priority, changed?.TrafficMirrorFilterRuleStatus],
        ['drop', 9, 'Modifying'],
      );
    });

    test('CreateTrafficMirrorFilterRules without any rule is InvalidParameter', async () => {
      const f = await filter();
      for (const [i, mode] of CLIENT_MODES.entries()) {
        const err = await expectCode(
          () =>
            callVia(mode, server, 'CreateTrafficMirrorFilterRules', {
              RegionId: REGION,
              TrafficMirrorFilterId: f,
              ...(i % 2 === 0 ? {} : { IngressRules: [] }),
            }),
          'InvalidParameter',
        );
        assert.match(messageOf(err), /IngressRules/);
      }
      // A parameter mistake, answered before RAM: also to a caller RAM would refuse.
      const denied = await ramUser(server, {
        Version: '1',
        Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
      });
      await expectCode(
        () =>
          callVia('vpc-v3', denied, 'CreateTrafficMirrorFilterRules', {
            RegionId: REGION,
            TrafficMirrorFilterId: f,
          }),
        'InvalidParameter',
      );
      await expectCode(
        () =>
          callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', {
            RegionId: REGION,
            IngressRules: [ALL],
          }),
        'MissingTrafficMirrorFilterId',
      );
    });

    test('CreateTrafficMirrorFilterRules validates each rule and names the field: bad port ranges, CIDRs, enums and priorities are InvalidParameter', async () => {
      const f = await filter();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ EgressRules: [ALL, { ...TCP, SourcePortRange: '' }] }, 'EgressRules.2.SourcePortRange'],
        [
          { IngressRules: [{ ...TCP, DestinationPortRange: '-1/-1' }] },
          'IngressRules.1.DestinationPortRange',
        ],
        [{ IngressRules: [{ ...TCP, SourcePortRange: '10-20' }] }, 'IngressRules.1.SourcePortRange'],
        [{ IngressRules: [{ ...ALL, SourceCidrBlock: '300.0.0.0/8' }] }, 'IngressRules.1.SourceCidrBlock'],
        [
          { IngressRules: [{ ...ALL, IpVersion: 'IPv6', DestinationCidrBlock: '::/129' }] },
          'IngressRules.1.DestinationCidrBlock',
        ],
        [{ IngressRules: [{ ...ALL, Action: 'Drop' }] }, 'IngressRules.1.Action'],
        [{ IngressRules: [{ ...ALL, Protocol: 'SCTP' }] }, 'IngressRules.1.Protocol'],
        [{ IngressRules: [{ ...ALL, Priority: 'one' }] }, 'IngressRules.1.Priority'],
      ];
      for (const [i, [rules, name]] of cases.entries()) {
        const err = await expectCode(
          () =>
            callVia(modeAt(i), server, 'CreateTrafficMirrorFilterRules', {
              RegionId: REGION,
              TrafficMirrorFilterId: f,
              ...rules,
            }),
          'InvalidParameter',
        );
        assert.equal(messageOf(err), `The specified parameter "${name}" is not valid.`);
      }
      await expectCode(
        () =>
          callVia('pop-post', server, 'CreateTrafficMirrorFilterRules', {
            RegionId: REGION,
            TrafficMirrorFilterId: f,
            IngressRules: [{ Action: 'accept' }],
          }),
        'MissingParameter',
      );
      assert.deepEqual((await find(f))?.IngressRules, []);
      assert.deepEqual((await find(f))?.EgressRules, []);
    });

    test('CreateTrafficMirrorFilterRules with a priority already used in that direction is InvalidParameter naming it; a missing priority takes the lowest unused one', async () => {
      const f = await filter({
        IngressRules: [
          { ...ALL, Priority: 1 },
          { ...ALL, Priority: 3 },
        ],
      });
      const err = await expectCode(
        () =>
          addRules(
            f,
            {
              IngressRules: [
                { ...ALL, Priority: 2 },
                { ...ALL, Priority: 3 },
              ],
            },
            'vpc-v1',
          ),
        'InvalidParameter',
      );
      assert.equal(messageOf(err), 'The specified parameter "IngressRules.2.Priority" is not valid.');
      const { ingress, egress } = await addRules(f, {
        IngressRules: [ALL, { ...ALL, Priority: 2 }, ALL],
        EgressRules: [ALL],
      });
      const listed = await find(f);
      const priorityOf = (id: string | undefined) =>
        listed?.IngressRules.find((r) => r.TrafficMirrorFilterRuleId === id)?.Priority;
      assert.deepEqual(ingress.map(priorityOf), [4, 2, 5]);
      assert.equal(listed?.EgressRules.find((r) => r.TrafficMirrorFilterRuleId === egress[0])?.Priority, 1);
    });

    test('CreateTrafficMirrorFilterRules beyond ten rules in a direction is QuotaExceeded.TrafficMirrorRule', async () => {
      const f = await filter({ IngressRules: Array.from({ length: 8 }, () => ALL) });
      const err = await expectCode(
        () => addRules(f, { IngressRules: [ALL, ALL, ALL] }, 'pop-get'),
        'QuotaExceeded.TrafficMirrorRule',
      );
      assert.equal(
        messageOf(err),
        'The number of traffic mirror rules in one direction exceeds the quota of 10.',
      );
      await expectCode(
        () => addRules(f, { IngressRules: Array.from({ length: 11 }, () => ALL) }),
        'QuotaExceeded.TrafficMirrorRule',
      );
      await addRules(f, { IngressRules: [ALL, ALL], EgressRules: Array.from({ length: 10 }, () => ALL) });
      const listed = await find(f);
      assert.equal(listed?.IngressRules.length, 10);
      assert.equal(listed?.EgressRules.length, 10);
      await expectCode(
        () => addRules(f, { EgressRules: [ALL] }, 'vpc-v1'),
        'QuotaExceeded.TrafficMirrorRule',
      );
    });

    test('a rule being deleted holds its priority and its place until it is gone: a create or update only it stands in the way of is OperationConflict (Terraform retries it on both), and goes through once it is gone', async () => {
      const f = await filter();
      const [held] = (await addRules(f, { IngressRules: [{ ...ALL, Priority: 1 }] })).ingress;
      const [kept] = (await addRules(f, { IngressRules: [{ ...ALL, Priority: 2 }] })).ingress;
      assert.ok(held && kept);
      await deleteRules(f, [held]);
      assert.equal((await rule(f, held))?.TrafficMirrorFilterRuleStatus, 'Deleting');
      await expectCode(
        () => addRules(f, { IngressRules: [{ ...ALL, Priority: 1 }] }, 'vpc-v1'),
        'OperationConflict',
      );
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: kept, Priority: 1 }),
        'OperationConflict',
      );
      // A priority that a rule which stays holds is a mistake, as ever.
      await expectCode(() => addRules(f, { IngressRules: [{ ...ALL, Priority: 2 }] }), 'InvalidParameter');
      // Eight more fill the direction to ten with the rule being deleted: one more must wait.
      await addRules(f, { IngressRules: Array.from({ length: 8 }, () => ALL) });
      await expectCode(() => addRules(f, { IngressRules: [ALL] }), 'OperationConflict');
      assert.equal(await server.advance({ resourceId: held }), 1);
      assert.equal(await rule(f, held), undefined);
      const [again] = (await addRules(f, { IngressRules: [{ ...ALL, Priority: 1 }] })).ingress;
      assert.equal((await rule(f, again ?? ''))?.Priority, 1);
      await expectCode(() => addRules(f, { IngressRules: [ALL] }), 'QuotaExceeded.TrafficMirrorRule');
    });

    test('rule operations on an unknown, other-region or other-account filter are ResourceNotFound.TrafficMirrorFilter', async () => {
      const other = await foreignAccount(server);
      const theirs = String(
        (
          await callVia('vpc-v3', other, 'CreateTrafficMirrorFilter', {
            RegionId: REGION,
            IngressRules: [ALL],
          })
        ).TrafficMirrorFilterId,
      );
      await server.advance({ resourceId: theirs });
      const mine = await filter();
      const cases: Array<[string, string]> = [
        ['tmf-doesnotexist0000000', REGION],
        [mine, 'cn-shanghai'],
        [theirs, REGION],
      ];
      for (const [i, [id, region]] of cases.entries()) {
        const err = await expectCode(
          () =>
            callVia(modeAt(i), server, 'CreateTrafficMirrorFilterRules', {
              RegionId: region,
              TrafficMirrorFilterId: id,
              IngressRules: [ALL],
            }),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        assert.equal(messageOf(err), 'The specified resource of traffic mirror filter is not found.');
        await expectCode(
          () =>
            callVia(modeAt(i + 1), server, 'DeleteTrafficMirrorFilterRules', {
              RegionId: region,
              TrafficMirrorFilterId: id,
              TrafficMirrorFilterRuleIds: ['tmr-doesnotexist0000000'],
            }),
          'ResourceNotFound.TrafficMirrorFilter',
        );
      }
      // Their rule, seen from this account, does not exist.
      const theirRule = await callVia('vpc-v3', other, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [theirs],
      });
      const theirRuleId = String(
        (theirRule.TrafficMirrorFilters as Filter[])[0]?.IngressRules[0]?.TrafficMirrorFilterRuleId,
      );
      const err = await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: theirRuleId, RuleAction: 'accept' }, 'pop-get'),
        'ResourceNotFound.TrafficMirrorRule',
      );
      assert.equal(messageOf(err), 'The specified resource of traffic mirror rule is not found.');
    });

    test('rule operations on a filter that is not Created are IncorrectStatus.TrafficMirrorFilter', async () => {
      const creating = await filter({ IngressRules: [ALL] }, false);
      const ruleId = String((await find(creating))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      await expectCode(
        () => addRules(creating, { IngressRules: [ALL] }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: ruleId, RuleAction: 'drop' }, 'vpc-v1'),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await expectCode(
        () => deleteRules(creating, [ruleId], 'pop-post'),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await server.advance({ resourceId: creating });
      await callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterId: creating,
      });
      await expectCode(
        () => addRules(creating, { EgressRules: [ALL] }, 'pop-get'),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: ruleId, Priority: 4 }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
    });

    test('changing or deleting a rule that is Creating, Modifying or Deleting is IncorrectStatus.TrafficMirrorRule', async () => {
      const f = await filter();
      const {
        ingress: [r1, r2],
      } = await addRules(f, { IngressRules: [ALL, ALL] }, 'vpc-v3', false);
      assert.ok(r1 && r2);
      const e = await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: r1, RuleAction: 'accept' }),
        'IncorrectStatus.TrafficMirrorRule',
      );
      assert.equal(messageOf(e), 'The status of traffic mirror rule is incorrect.');
      await expectCode(() => deleteRules(f, [r1], 'pop-get'), 'IncorrectStatus.TrafficMirrorRule');
      await server.advance({ resourceId: r1 });
      await server.advance({ resourceId: r2 });
      await updateRule({ TrafficMirrorFilterRuleId: r1, RuleAction: 'accept' });
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: r1, RuleAction: 'drop' }, 'vpc-v1'),
        'IncorrectStatus.TrafficMirrorRule',
      );
      // One busy rule makes the whole delete fail; the other rule is untouched.
      await expectCode(() => deleteRules(f, [r2, r1], 'pop-post'), 'IncorrectStatus.TrafficMirrorRule');
      assert.equal((await rule(f, r2))?.TrafficMirrorFilterRuleStatus, 'Created');
      await server.advance({ resourceId: r1 });
      await deleteRules(f, [r1]);
      await expectCode(() => deleteRules(f, [r1]), 'IncorrectStatus.TrafficMirrorRule');
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: r1, Priority: 9 }),
        'IncorrectStatus.TrafficMirrorRule',
      );
      await server.advance({ resourceId: r1 });
      assert.equal(await rule(f, r1), undefined);
    });

    test('no second DeleteTrafficMirrorFilterRules on a filter while a deletion is under way: IncorrectStatus.TrafficMirrorFilter (DryRun too), and the rule is kept; once the first is gone it goes through', async () => {
      const f = await filter();
      const {
        ingress: [first, second],
        egress: [third],
      } = await addRules(f, { IngressRules: [ALL, ALL], EgressRules: [ALL] });
      assert.ok(first && second && third);
      await deleteRules(f, [first]);
      const e = await expectCode(
        () => deleteRules(f, [second], 'vpc-v1'),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      assert.equal(messageOf(e), 'The status of traffic mirror filter is incorrect.');
      await expectCode(
        () => deleteRules(f, [third], 'pop-get', { DryRun: true }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      assert.equal((await rule(f, second))?.TrafficMirrorFilterRuleStatus, 'Created');
      assert.equal((await rule(f, third))?.TrafficMirrorFilterRuleStatus, 'Created');
      // The rule under deletion itself is still the rule's own status error.
      await expectCode(() => deleteRules(f, [first]), 'IncorrectStatus.TrafficMirrorRule');
      assert.equal(await server.advance({ resourceId: first }), 1);
      await deleteRules(f, [second, third], 'pop-post');
      assert.equal((await rule(f, second))?.TrafficMirrorFilterRuleStatus, 'Deleting');
      assert.equal((await rule(f, third))?.TrafficMirrorFilterRuleStatus, 'Deleting');
    });

    test('a priority a CreateTrafficMirrorFilterRules request gives twice in one direction is InvalidParameter before the filter is looked up: an unknown, busy or full filter does not hide it', async () => {
      const twice = { IngressRules: [{ ...ALL, Priority: 4 }, ALL, { ...ALL, Priority: 4 }] };
      const expectDuplicate = async (filterId: string) => {
        const err = await expectCode(() => addRules(filterId, twice, 'vpc-v1'), 'InvalidParameter');
        assert.equal(messageOf(err), 'The specified parameter "IngressRules.3.Priority" is not valid.');
      };
      await expectDuplicate(newResourceId('TrafficMirrorFilter'));
      await expectDuplicate(await filter({}, false));
      await expectDuplicate(await filter({ IngressRules: Array.from({ length: 10 }, () => ALL) }));
      // The same priority in the two directions is no duplicate.
      const f = await filter();
      await addRules(f, { IngressRules: [{ ...ALL, Priority: 4 }], EgressRules: [{ ...ALL, Priority: 4 }] });
    });

    test('UpdateTrafficMirrorFilterRuleAttribute refuses a malformed CIDR or range before looking at the rule: InvalidParameter wins over ResourceNotFound and IncorrectStatus', async () => {
      const f = await filter();
      const {
        ingress: [busy],
      } = await addRules(f, { IngressRules: [TCP] }, 'vpc-v3', false);
      assert.ok(busy);
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ SourceCidrBlock: 'garbage' }, 'SourceCidrBlock'],
        [{ DestinationCidrBlock: '10.0.0.0/33' }, 'DestinationCidrBlock'],
        [{ Protocol: 'TCP', SourcePortRange: '10-20' }, 'SourcePortRange'],
        [{ Protocol: 'UDP', DestinationPortRange: '0/80' }, 'DestinationPortRange'],
      ];
      for (const [i, [fields, name]] of cases.entries()) {
        for (const ruleId of ['tmr-doesnotexist0000000', busy]) {
          const err = await expectCode(
            () => updateRule({ TrafficMirrorFilterRuleId: ruleId, ...fields }, modeAt(i)),
            'InvalidParameter',
          );
          assert.equal(messageOf(err), `The specified parameter "${name}" is not valid.`);
        }
      }
      // What only the stored rule decides still waits for it: a range sent with ALL is replaced.
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: busy, Protocol: 'ALL', SourcePortRange: 'garbage' }),
        'IncorrectStatus.TrafficMirrorRule',
      );
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: 'tmr-doesnotexist0000000', SourceCidrBlock: '::/0' }),
        'ResourceNotFound.TrafficMirrorRule',
      );
    });

    test('rule errors name the index the client sent, gaps included', async () => {
      const f = await filter();
      const cases: Array<[Record<string, unknown>, string]> = [
        [
          { 'IngressRules.3.Action': 'accept', 'IngressRules.3.Protocol': 'TCP' },
          'IngressRules.3.SourcePortRange',
        ],
        [
          {
            'EgressRules.2.Action': 'accept',
            'EgressRules.2.Protocol': 'ALL',
            'EgressRules.2.Priority': '1',
            'EgressRules.5.Action': 'drop',
            'EgressRules.5.Protocol': 'ALL',
            'EgressRules.5.Priority': '1',
          },
          'EgressRules.5.Priority',
        ],
      ];
      for (const [i, [rules, name]] of cases.entries()) {
        const err = await expectCode(
          () =>
            callVia(modeAt(i + 2), server, 'CreateTrafficMirrorFilterRules', {
              RegionId: REGION,
              TrafficMirrorFilterId: f,
              ...rules,
            }),
          'InvalidParameter',
        );
        assert.equal(messageOf(err), `The specified parameter "${name}" is not valid.`);
      }
    });

    test('DeleteTrafficMirrorFilterRules with a rule id of another filter or an unknown one is ResourceNotFound.TrafficMirrorRule and deletes nothing', async () => {
      const f1 = await filter({ IngressRules: [ALL] });
      const f2 = await filter({ IngressRules: [ALL] });
      const r1 = String((await find(f1))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      const r2 = String((await find(f2))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      for (const [i, ids] of [
        [r1, r2],
        ['tmr-doesnotexist0000000'],
        [r1, 'tmr-doesnotexist0000000'],
      ].entries()) {
        const err = await expectCode(
          () => deleteRules(f1, ids, modeAt(i)),
          'ResourceNotFound.TrafficMirrorRule',
        );
        assert.equal(err.statusCode ?? 400, 400);
      }
      assert.equal((await rule(f1, r1))?.TrafficMirrorFilterRuleStatus, 'Created');
      await expectCode(
        () =>
          callVia('vpc-v3', server, 'DeleteTrafficMirrorFilterRules', {
            RegionId: REGION,
            TrafficMirrorFilterId: f1,
          }),
        'MissingParameter',
      );
      // Repeated ids count once.
      await deleteRules(f1, [r1, r1], 'vpc-v1');
      assert.equal((await rule(f1, r1))?.TrafficMirrorFilterRuleStatus, 'Deleting');
    });

    test('UpdateTrafficMirrorFilterRuleAttribute merges unspecified fields and re-validates the whole rule', async () => {
      const f = await filter({
        IngressRules: [
          { ...TCP, Priority: 1, SourceCidrBlock: '10.0.0.0/8' },
          { ...ALL, Priority: 2 },
        ],
        EgressRules: [{ ...ALL, IpVersion: 'IPv6', Priority: 1 }],
      });
      const listed = await find(f);
      const tcp = String(listed?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      const all = String(listed?.IngressRules[1]?.TrafficMirrorFilterRuleId);
      const v6 = String(listed?.EgressRules[0]?.TrafficMirrorFilterRuleId);

      // Switching to ICMP resets the ports; the CIDR stays.
      await updateRule({ TrafficMirrorFilterRuleId: tcp, Protocol: 'ICMP' }, 'pop-get');
      await server.advance({ resourceId: tcp });
      let r = await rule(f, tcp);
      assert.deepEqual(
        [
          r?.Protocol,
          r?.SourcePortRange,
          r?.DestinationPortRange,
          r?.SourceCidrBlock,
          r?.Action,
          r?.Priority,
        ],
        ['ICMP', '-1/-1', '-1/-1', '10.0.0.0/8', 'accept', 1],
      );

      // Back to TCP: the -1/-1 ports left from ICMP are not valid ranges.
      const e1 = await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: tcp, Protocol: 'UDP', DestinationPortRange: '53/53' }),
        'InvalidParameter',
      );
      assert.equal(messageOf(e1), 'The specified parameter "SourcePortRange" is not valid.');
      await updateRule(
        {
          TrafficMirrorFilterRuleId: tcp,
          Protocol: 'UDP',
          SourcePortRange: '1/2',
          DestinationPortRange: '53/53',
        },
        'vpc-v1',
      );
      await server.advance({ resourceId: tcp });
      r = await rule(f, tcp);
      assert.deepEqual([r?.Protocol, r?.SourcePortRange, r?.DestinationPortRange], ['UDP', '1/2', '53/53']);

      const cases: Array<[string, Record<string, unknown>, string]> = [
        [all, { Priority: 1 }, 'Priority'],
        [all, { Priority: 11 }, 'Priority'],
        [all, { RuleAction: 'ACCEPT' }, 'RuleAction'],
        [all, { Protocol: 'Tcp' }, 'Protocol'],
        [all, { Protocol: 'TCP', SourcePortRange: '1/2' }, 'DestinationPortRange'],
        [v6, { SourceCidrBlock: '10.0.0.0/8' }, 'SourceCidrBlock'],
        [all, { DestinationCidrBlock: 'fd00::/8' }, 'DestinationCidrBlock'],
      ];
      for (const [i, [id, params, name]] of cases.entries()) {
        const err = await expectCode(
          () => updateRule({ TrafficMirrorFilterRuleId: id, ...params }, modeAt(i)),
          'InvalidParameter',
        );
        assert.equal(
          messageOf(err),
          `The specified parameter "${name}" is not valid.`,
          JSON.stringify(params),
        );
      }
      // The same priority as its own is no conflict; another direction's priority neither.
      await updateRule({ TrafficMirrorFilterRuleId: all, Priority: 2, SourceCidrBlock: '192.168.0.0/16' });
      await server.advance({ resourceId: all });
      await updateRule(
        {
          TrafficMirrorFilterRuleId: v6,
          Priority: 2,
          DestinationCidrBlock: 'fd00::/8',
          RuleAction: 'accept',
        },
        'pop-post',
      );
      await server.advance({ resourceId: v6 });
      r = await rule(f, v6);
      assert.deepEqual(
        [r?.Priority, r?.DestinationCidrBlock, r?.Action, r?.IpVersion],
        [2, 'fd00::/8', 'accept', 'IPv6'],
      );
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: 'tmr-doesnotexist0000000', RuleAction: 'drop' }),
        'ResourceNotFound.TrafficMirrorRule',
      );
      await expectCode(() => updateRule({ RuleAction: 'drop' }), 'MissingTrafficMirrorFilterRuleId');
    });

    test('rule operations with DryRun are DryRunOperation and change nothing; a failing DryRun gets the real error', async () => {
      const f = await filter({ IngressRules: [ALL] });
      const r1 = String((await find(f))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      const calls: Array<() => Promise<unknown>> = [
        () => addRules(f, { IngressRules: [ALL], DryRun: true } as never, 'vpc-v3'),
        () => updateRule({ TrafficMirrorFilterRuleId: r1, RuleAction: 'accept', DryRun: true }, 'vpc-v1'),
        () => deleteRules(f, [r1], 'pop-get', { DryRun: true }),
        () =>
          callVia('pop-post', server, 'CreateTrafficMirrorFilterRules', {
            RegionId: REGION,
            TrafficMirrorFilterId: f,
            EgressRules: [ALL],
            DryRun: true,
          }),
      ];
      for (const call of calls) {
        const err = await expectCode(call, 'DryRunOperation');
        assert.equal(messageOf(err), 'Request validation has been passed with DryRun flag set.');
      }
      const after = await find(f);
      assert.equal(after?.IngressRules.length, 1);
      assert.equal(after?.EgressRules.length, 0);
      assert.deepEqual(
        [after?.IngressRules[0]?.Action, after?.IngressRules[0]?.TrafficMirrorFilterRuleStatus],
        ['drop', 'Created'],
      );
      await expectCode(
        () => updateRule({ TrafficMirrorFilterRuleId: r1, Priority: 0, DryRun: true }),
        'InvalidParameter',
      );
      await expectCode(
        () => deleteRules(f, ['tmr-doesnotexist0000000'], 'vpc-v3', { DryRun: true }),
        'ResourceNotFound.TrafficMirrorRule',
      );
      await expectCode(
        () => addRules(f, { IngressRules: Array.from({ length: 10 }, () => ALL), DryRun: true } as never),
        'QuotaExceeded.TrafficMirrorRule',
      );
    });

    test('CreateTrafficMirrorFilterRules with the same ClientToken and parameters answers the same rule ids and creates the rules once', async () => {
      const f = await filter();
      const params = {
        RegionId: REGION,
        TrafficMirrorFilterId: f,
        IngressRules: [ALL],
        ClientToken: 'rules-token-1',
      };
      const a = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', params);
      const b = await callVia('pop-post', server, 'CreateTrafficMirrorFilterRules', params);
      assert.deepEqual(b.IngressRules, a.IngressRules);
      assert.equal((await find(f))?.IngressRules.length, 1);
      await expectCode(
        () => callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', { ...params, IngressRules: [TCP] }),
        'IdempotentParameterMismatch',
      );
    });

    test('simultaneous DeleteTrafficMirrorFilterRules of the same rule: exactly one goes through, the others are IncorrectStatus.TrafficMirrorRule, as one after the other', async () => {
      for (let round = 0; round < 3; round++) {
        const f = await filter();
        const {
          ingress: [r],
        } = await addRules(f, { IngressRules: [ALL, ALL] });
        const results = await Promise.allSettled(
          (['vpc-v3', 'pop-post', 'vpc-v1'] as const).map((mode) => deleteRules(f, [r ?? ''], mode)),
        );
        assert.equal(results.filter((x) => x.status === 'fulfilled').length, 1);
        for (const x of results)
          if (x.status === 'rejected')
            assert.equal((x.reason as Record<string, unknown>).code, 'IncorrectStatus.TrafficMirrorRule');
      }
    });

    test('simultaneous DeleteTrafficMirrorFilterRules of different rules of one filter: exactly one goes through, the others are IncorrectStatus.TrafficMirrorFilter', async () => {
      for (let round = 0; round < 3; round++) {
        const f = await filter();
        const { ingress } = await addRules(f, { IngressRules: [ALL, ALL, ALL] });
        const results = await Promise.allSettled(
          (['vpc-v3', 'pop-post', 'vpc-v1'] as const).map((mode, i) =>
            deleteRules(f, [ingress[i] ?? ''], mode),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results)
          if (r.status === 'rejected')
            assert.equal((r.reason as Record<string, unknown>).code, 'IncorrectStatus.TrafficMirrorFilter');
        const statuses = (await find(f))?.IngressRules.map((r) => r.TrafficMirrorFilterRuleStatus).sort();
        assert.deepEqual(statuses, ['Created', 'Created', 'Deleting']);
      }
    });

    test('two simultaneous CreateTrafficMirrorFilterRules taking one priority: exactly one succeeds', async () => {
      for (let round = 0; round < 3; round++) {
        const f = await filter();
        const results = await Promise.allSettled(
          (['vpc-v3', 'pop-post', 'vpc-v1'] as const).map((mode) =>
            callVia(mode, server, 'CreateTrafficMirrorFilterRules', {
              RegionId: REGION,
              TrafficMirrorFilterId: f,
              IngressRules: [{ ...ALL, Priority: 4 }],
            }),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) {
          if (r.status === 'rejected') {
            assert.ok(
              ['InvalidParameter', 'OperationConflict'].includes(
                String((r.reason as Record<string, unknown>).code),
              ),
              String((r.reason as Record<string, unknown>).code),
            );
          }
        }
        assert.equal((await find(f))?.IngressRules.length, 1);
      }
    });

    test('rule operations are authorized on the filter ARN; UpdateTrafficMirrorFilterRuleAttribute on the parent filter of the rule', async () => {
      const f = await filter({ IngressRules: [ALL] });
      const other = await filter({ IngressRules: [ALL] });
      const ruleId = String((await find(f))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      const otherRule = String((await find(other))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      const nobody = await ramUser(server);
      const arn = (id: string) => `acs:vpc:${REGION}:${server.accountId}:trafficmirrorfilter/${id}`;
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['CreateTrafficMirrorFilterRules', { TrafficMirrorFilterId: f, IngressRules: [ALL] }, arn(f)],
        [
          'UpdateTrafficMirrorFilterRuleAttribute',
          { TrafficMirrorFilterRuleId: ruleId, RuleAction: 'accept' },
          arn(f),
        ],
        [
          'DeleteTrafficMirrorFilterRules',
          { TrafficMirrorFilterId: f, TrafficMirrorFilterRuleIds: [ruleId] },
          arn(f),
        ],
        [
          'UpdateTrafficMirrorFilterRuleAttribute',
          { TrafficMirrorFilterRuleId: 'tmr-doesnotexist0000000' },
          arn('*'),
        ],
      ];
      for (const [i, [action, params, resource]] of cases.entries()) {
        const err = await expectCode(
          () => callVia(modeAt(i), nobody, action, { RegionId: REGION, ...params }),
          'Forbidden.RAM',
        );
        assert.deepEqual(deniedResources(err), [resource], action);
      }
      const scoped = await ramUser(server, {
        Version: '1',
        Statement: [{ Effect: 'Allow', Action: 'vpc:*TrafficMirrorFilterRule*', Resource: arn(f) }],
      });
      await callVia('vpc-v1', scoped, 'UpdateTrafficMirrorFilterRuleAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterRuleId: ruleId,
        RuleAction: 'accept',
      });
      await expectCode(
        () =>
          callVia('vpc-v1', scoped, 'UpdateTrafficMirrorFilterRuleAttribute', {
            RegionId: REGION,
            TrafficMirrorFilterRuleId: otherRule,
            RuleAction: 'accept',
          }),
        'Forbidden.RAM',
      );
      assert.equal((await rule(f, ruleId))?.Action, 'accept');
      assert.equal((await rule(other, otherRule))?.Action, 'drop');
    });

    test('rule changes while a session using the filter is Creating or Deleting are IncorrectStatus.TrafficMirrorSession, and allowed while it is Created', async () => {
      const f = await filter({ IngressRules: [ALL] });
      const ruleId = String((await find(f))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      sessionPriority += 1;
      const created = await callVia('vpc-v3', server, 'CreateTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSourceIds: [eni()],
        TrafficMirrorTargetId: eni(),
        TrafficMirrorTargetType: 'NetworkInterface',
        TrafficMirrorFilterId: f,
        Priority: sessionPriority,
      });
      const sessionId = String(created.TrafficMirrorSessionId);
      const busy: Array<() => Promise<unknown>> = [
        () => addRules(f, { IngressRules: [ALL] }, 'vpc-v1'),
        () => updateRule({ TrafficMirrorFilterRuleId: ruleId, RuleAction: 'accept' }, 'pop-get'),
        () => deleteRules(f, [ruleId], 'pop-post'),
      ];
      for (const call of busy) {
        const err = await expectCode(call, 'IncorrectStatus.TrafficMirrorSession');
        assert.equal(messageOf(err), 'The status of traffic mirror session is incorrect.');
      }
      await server.advance({ resourceId: sessionId });
      // The session is Created: rule changes go through and apply to it.
      const { ingress } = await addRules(f, { IngressRules: [TCP] });
      await updateRule({ TrafficMirrorFilterRuleId: ruleId, RuleAction: 'accept' });
      await server.advance({ resourceId: ruleId });
      await callVia('vpc-v3', server, 'DeleteTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSessionId: sessionId,
      });
      for (const call of busy) await expectCode(call, 'IncorrectStatus.TrafficMirrorSession');
      await server.advance({ resourceId: sessionId });
      await deleteRules(f, [ruleId, ...ingress]);
    });
  });
}
