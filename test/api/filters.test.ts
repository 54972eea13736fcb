/**
 * Traffic mirror filters through the official clients (spec filters.md sections 3, 7, 10, 11, 13):
 * create with inline rules and tags, rename, delete, list with its filters and keyset pages,
 * DryRun, ClientToken, quotas, RAM resource names and the interplay with sessions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Vpc from '@alicloud/vpc20160428';
import { newAccessKeyId, newAccessKeySecret, newAccountId, newResourceId } from '../../src/ids.js';
import { insertAccessKey, insertAccount } from '../../src/store/credentials.repo.js';
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
type Filter = Record<string, unknown> & { IngressRules: Rule[]; EgressRules: Rule[] };
type Rule = Record<string, unknown>;

function modeAt(i: number): ClientMode {
  return CLIENT_MODES[i % CLIENT_MODES.length] ?? 'vpc-v3';
}

/** The wire message of an error thrown by either client. */
function messageOf(err: Record<string, unknown>): string {
  const data = err.data as Record<string, unknown> | undefined;
  return String(data?.Message ?? err.message);
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
  await insertAccessKey(server.store.db, {
    access_key_id: key.accessKeyId,
    secret: key.accessKeySecret,
    account_id: accountId,
    user_name: null,
    role_name: null,
    status: 'Active',
    security_token: null,
    expires_at: null,
    session_policy: null,
    created_at: Date.now(),
  });
  return { endpoint: server.endpoint, ...key };
}

/** Seeds a RAM user of the server's account, with an optional custom policy attached. */
async function ramUser(server: TestServer, policy?: unknown): Promise<Credentials> {
  const userName = `u${newAccessKeyId().slice(4, 12).toLowerCase()}`;
  const key = { accessKeyId: newAccessKeyId(), accessKeySecret: newAccessKeySecret() };
  const db = server.store.db;
  await insertAccessKey(db, {
    access_key_id: key.accessKeyId,
    secret: key.accessKeySecret,
    account_id: server.accountId,
    user_name: userName,
    role_name: null,
    status: 'Active',
    security_token: null,
    expires_at: null,
    session_policy: null,
    created_at: Date.now(),
  });
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

/** The resources RAM was asked about, read back from a Forbidden.RAM answer. */
function deniedResources(err: Record<string, unknown>): unknown {
  const data = err.data as { AccessDeniedDetail?: { EncodedDiagnosticMessage?: string } } | undefined;
  const encoded = data?.AccessDeniedDetail?.EncodedDiagnosticMessage;
  assert.ok(encoded, 'Forbidden.RAM carries AccessDeniedDetail.EncodedDiagnosticMessage');
  return (JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { AuthResource: unknown })
    .AuthResource;
}

for (const storeKind of testStores()) {
  describe(`traffic mirror filters [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
    });
    after(() => server.close());

    async function create(
      params: Record<string, unknown> = {},
      mode: ClientMode = 'vpc-v3',
    ): Promise<string> {
      const body = await callVia(mode, server, 'CreateTrafficMirrorFilter', { RegionId: REGION, ...params });
      return String(body.TrafficMirrorFilterId);
    }
    async function createReady(params: Record<string, unknown> = {}): Promise<string> {
      const id = await create(params);
      await server.advance({ resourceId: id });
      return id;
    }
    async function list(params: Record<string, unknown>, mode: ClientMode = 'vpc-v3') {
      return callVia(mode, server, 'ListTrafficMirrorFilters', { RegionId: REGION, ...params });
    }
    async function find(id: string, region = REGION, c: Credentials = server): Promise<Filter | undefined> {
      const body = await callVia('vpc-v3', c, 'ListTrafficMirrorFilters', {
        RegionId: region,
        TrafficMirrorFilterIds: [id],
      });
      return (body.TrafficMirrorFilters as Filter[])[0];
    }
    async function idsOf(params: Record<string, unknown>, region = REGION): Promise<string[]> {
      const body = await list({ RegionId: region, MaxResults: 100, ...params });
      return (body.TrafficMirrorFilters as Filter[]).map((f) => String(f.TrafficMirrorFilterId));
    }

    for (const mode of CLIENT_MODES) {
      test(`CreateTrafficMirrorFilter is Creating, then Created, and ListTrafficMirrorFilters answers the documented shape through ${mode}`, async () => {
        const created = await callVia(mode, server, 'CreateTrafficMirrorFilter', {
          RegionId: REGION,
          TrafficMirrorFilterName: 'abc',
          TrafficMirrorFilterDescription: 'This is a filter.',
          Tag: [{ Key: 'FinanceDept', Value: 'FinanceJoshua' }],
          IngressRules: [{ Action: 'accept', Protocol: 'ALL', Priority: 1 }],
          EgressRules: [
            {
              Action: 'drop',
              Protocol: 'TCP',
              Priority: 2,
              SourceCidrBlock: '10.0.0.0/24',
              DestinationCidrBlock: '10.0.1.0/24',
              SourcePortRange: '22/40',
              DestinationPortRange: '80/80',
            },
          ],
        });
        assert.deepEqual(Object.keys(created).sort(), [
          'RequestId',
          'ResourceGroupId',
          'TrafficMirrorFilterId',
        ]);
        const id = String(created.TrafficMirrorFilterId);
        assert.match(id, /^tmf-[a-z0-9]{21}$/);
        assert.match(String(created.ResourceGroupId), /^rg-[a-z0-9]+$/);

        const before = await list({ TrafficMirrorFilterIds: [id] }, mode);
        const creating = (before.TrafficMirrorFilters as Filter[])[0];
        assert.equal(creating?.TrafficMirrorFilterStatus, 'Creating');
        assert.equal(creating?.IngressRules[0]?.TrafficMirrorFilterRuleStatus, 'Creating');
        assert.equal(creating?.EgressRules[0]?.TrafficMirrorFilterRuleStatus, 'Creating');

        assert.equal(await server.advance({ resourceId: id }), 1);
        const body = await list({ TrafficMirrorFilterIds: [id] }, mode);
        const filter = (body.TrafficMirrorFilters as Filter[])[0];
        assert.ok(filter);
        assert.match(String(filter.CreationTime), /^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
        const ingressId = filter.IngressRules[0]?.TrafficMirrorFilterRuleId;
        const egressId = filter.EgressRules[0]?.TrafficMirrorFilterRuleId;
        assert.match(String(ingressId), /^tmr-[a-z0-9]{21}$/);
        assert.deepEqual(
          { ...body, RequestId: 'r' },
          {
            RequestId: 'r',
            TotalCount: '1',
            Count: 1,
            MaxResults: 10,
            NextToken: '',
            TrafficMirrorFilters: [
              {
                TrafficMirrorFilterId: id,
                TrafficMirrorFilterName: 'abc',
                TrafficMirrorFilterDescription: 'This is a filter.',
                TrafficMirrorFilterStatus: 'Created',
                ResourceGroupId: created.ResourceGroupId,
                CreationTime: filter.CreationTime,
                Tags: [{ Key: 'FinanceDept', Value: 'FinanceJoshua' }],
                IngressRules: [
                  {
                    TrafficMirrorFilterRuleId: ingressId,
                    TrafficMirrorFilterId: id,
                    TrafficDirection: 'ingress',
                    Action: 'accept',
                    Protocol: 'ALL',
                    Priority: 1,
                    SourceCidrBlock: '0.0.0.0/0',
                    DestinationCidrBlock: '0.0.0.0/0',
                    SourcePortRange: '-1/-1',
                    DestinationPortRange: '-1/-1',
                    IpVersion: 'IPv4',
                    TrafficMirrorFilterRuleStatus: 'Created',
                  },
                ],
                EgressRules: [
                  {
                    TrafficMirrorFilterRuleId: egressId,
                    TrafficMirrorFilterId: id,
                    TrafficDirection: 'egress',
                    Action: 'drop',
                    Protocol: 'TCP',
                    Priority: 2,
                    SourceCidrBlock: '10.0.0.0/24',
                    DestinationCidrBlock: '10.0.1.0/24',
                    SourcePortRange: '22/40',
                    DestinationPortRange: '80/80',
                    IpVersion: 'IPv4',
                    TrafficMirrorFilterRuleStatus: 'Created',
                  },
                ],
              },
            ],
          },
        );
      });

      test(`UpdateTrafficMirrorFilterAttribute renames at once and DeleteTrafficMirrorFilter goes Deleting then gone through ${mode}`, async () => {
        const id = await createReady({
          TrafficMirrorFilterName: 'before',
          TrafficMirrorFilterDescription: 'd1',
        });
        const updated = await callVia(mode, server, 'UpdateTrafficMirrorFilterAttribute', {
          RegionId: REGION,
          TrafficMirrorFilterId: id,
          TrafficMirrorFilterName: 'after',
          TrafficMirrorFilterDescription: 'd2',
        });
        assert.deepEqual(Object.keys(updated), ['RequestId']);
        const renamed = await find(id);
        assert.equal(renamed?.TrafficMirrorFilterName, 'after');
        assert.equal(renamed?.TrafficMirrorFilterDescription, 'd2');
        assert.equal(renamed?.TrafficMirrorFilterStatus, 'Created');

        const deleted = await callVia(mode, server, 'DeleteTrafficMirrorFilter', {
          RegionId: REGION,
          TrafficMirrorFilterId: id,
        });
        assert.deepEqual(Object.keys(deleted), ['RequestId']);
        assert.equal((await find(id))?.TrafficMirrorFilterStatus, 'Deleting');
        await server.advance({ resourceId: id });
        assert.equal(await find(id), undefined);
      });
    }

    test('CreateTrafficMirrorFilter normalises inline rules: ALL/ICMP carry -1/-1, IPv6 defaults to ::/0, missing priorities take the lowest free values', async () => {
      const id = await createReady({
        IngressRules: [
          { Action: 'accept', Protocol: 'ICMP', SourcePortRange: '1/200', DestinationPortRange: '' },
          {
            Action: 'drop',
            Protocol: 'UDP',
            Priority: 1,
            SourcePortRange: '53/53',
            DestinationPortRange: '1/65535',
          },
          { Action: 'accept', Protocol: 'ALL', IpVersion: 'IPv6', SourcePortRange: '', SourceCidrBlock: '' },
        ],
        EgressRules: [
          {
            Action: 'accept',
            Protocol: 'TCP',
            IpVersion: 'IPv6',
            DestinationCidrBlock: '2001:db8::/32',
            SourcePortRange: '1/1',
            DestinationPortRange: '443/443',
            Priority: 10,
          },
        ],
      });
      const f = await find(id);
      assert.ok(f);
      const summary = (r: Rule) => [
        r.Priority,
        r.Protocol,
        r.IpVersion,
        r.SourceCidrBlock,
        r.DestinationCidrBlock,
        r.SourcePortRange,
        r.DestinationPortRange,
        r.TrafficMirrorFilterRuleStatus,
      ];
      // Rules come back ordered by priority.
      assert.deepEqual(f.IngressRules.map(summary), [
        [1, 'UDP', 'IPv4', '0.0.0.0/0', '0.0.0.0/0', '53/53', '1/65535', 'Created'],
        [2, 'ICMP', 'IPv4', '0.0.0.0/0', '0.0.0.0/0', '-1/-1', '-1/-1', 'Created'],
        [3, 'ALL', 'IPv6', '::/0', '::/0', '-1/-1', '-1/-1', 'Created'],
      ]);
      assert.deepEqual(f.EgressRules.map(summary), [
        [10, 'TCP', 'IPv6', '::/0', '2001:db8::/32', '1/1', '443/443', 'Created'],
      ]);
    });

    const invalidRules: Array<[string, Record<string, unknown>, string]> = [
      ['an upper-case Action', { Action: 'ACCEPT', Protocol: 'ALL' }, 'IngressRules.1.Action'],
      ['a lower-case Protocol', { Action: 'accept', Protocol: 'tcp' }, 'IngressRules.1.Protocol'],
      [
        'an unknown IpVersion',
        { Action: 'accept', Protocol: 'ALL', IpVersion: 'ipv4' },
        'IngressRules.1.IpVersion',
      ],
      [
        'an IPv4 CIDR on an IPv6 rule',
        { Action: 'accept', Protocol: 'ALL', IpVersion: 'IPv6', SourceCidrBlock: '10.0.0.0/8' },
        'IngressRules.1.SourceCidrBlock',
      ],
      [
        'an IPv6 CIDR on an IPv4 rule',
        { Action: 'accept', Protocol: 'ALL', DestinationCidrBlock: '2001:db8::/32' },
        'IngressRules.1.DestinationCidrBlock',
      ],
      [
        'a CIDR without prefix',
        { Action: 'accept', Protocol: 'ALL', SourceCidrBlock: '10.0.0.0' },
        'IngressRules.1.SourceCidrBlock',
      ],
      [
        'a prefix of 33',
        { Action: 'accept', Protocol: 'ALL', SourceCidrBlock: '10.0.0.0/33' },
        'IngressRules.1.SourceCidrBlock',
      ],
      [
        'a TCP rule without SourcePortRange',
        { Action: 'accept', Protocol: 'TCP', DestinationPortRange: '1/2' },
        'IngressRules.1.SourcePortRange',
      ],
      [
        'a UDP rule without DestinationPortRange',
        { Action: 'accept', Protocol: 'UDP', SourcePortRange: '1/2' },
        'IngressRules.1.DestinationPortRange',
      ],
      [
        '-1/-1 on a TCP rule',
        { Action: 'accept', Protocol: 'TCP', SourcePortRange: '-1/-1', DestinationPortRange: '1/2' },
        'IngressRules.1.SourcePortRange',
      ],
      [
        'port 0',
        { Action: 'accept', Protocol: 'TCP', SourcePortRange: '0/10', DestinationPortRange: '1/2' },
        'IngressRules.1.SourcePortRange',
      ],
      [
        'a start above the end',
        { Action: 'accept', Protocol: 'TCP', SourcePortRange: '20/10', DestinationPortRange: '1/2' },
        'IngressRules.1.SourcePortRange',
      ],
      [
        'port 65536',
        { Action: 'accept', Protocol: 'UDP', SourcePortRange: '1/2', DestinationPortRange: '1/65536' },
        'IngressRules.1.DestinationPortRange',
      ],
      ['priority 0', { Action: 'accept', Protocol: 'ALL', Priority: 0 }, 'IngressRules.1.Priority'],
      ['priority 11', { Action: 'accept', Protocol: 'ALL', Priority: 11 }, 'IngressRules.1.Priority'],
    ];
    invalidRules.forEach(([what, rule, name], i) => {
      const mode = modeAt(i);
      test(`CreateTrafficMirrorFilter with ${what} is InvalidParameter naming ${name} through ${mode}`, async () => {
        const err = await expectCode(
          () =>
            callVia(mode, server, 'CreateTrafficMirrorFilter', {
              RegionId: 'cn-huhehaote',
              IngressRules: [rule],
            }),
          'InvalidParameter',
        );
        assert.equal(messageOf(err), `The specified parameter "${name}" is not valid.`);
        assert.deepEqual(await idsOf({}, 'cn-huhehaote'), []);
      });
    });

    test('CreateTrafficMirrorFilter with two rules of one priority in a direction is InvalidParameter naming the second Priority; other directions may reuse it', async () => {
      const err = await expectCode(
        () =>
          create({
            EgressRules: [
              { Action: 'accept', Protocol: 'ALL', Priority: 3 },
              { Action: 'drop', Protocol: 'ALL', Priority: 3 },
            ],
          }),
        'InvalidParameter',
      );
      assert.equal(messageOf(err), 'The specified parameter "EgressRules.2.Priority" is not valid.');
      const id = await createReady({
        IngressRules: [{ Action: 'accept', Protocol: 'ALL', Priority: 3 }],
        EgressRules: [{ Action: 'accept', Protocol: 'ALL', Priority: 3 }],
      });
      assert.equal((await find(id))?.EgressRules[0]?.Priority, 3);
    });

    test('CreateTrafficMirrorFilter with a rule missing its Action is MissingParameter naming it', async () => {
      const err = await expectCode(
        () => create({ IngressRules: [{ Protocol: 'ALL' }] }, 'pop-post'),
        'MissingParameter',
      );
      assert.match(messageOf(err), /"IngressRules\.1\.Action"/);
    });

    test('CreateTrafficMirrorFilter with eleven inbound rules is QuotaExceeded.TrafficMirrorRule', async () => {
      const rules = Array.from({ length: 11 }, () => ({ Action: 'accept', Protocol: 'ALL' }));
      const err = await expectCode(
        () => create({ IngressRules: rules }, 'vpc-v1'),
        'QuotaExceeded.TrafficMirrorRule',
      );
      assert.match(messageOf(err), /quota of 10/);
      const ten = await createReady({ IngressRules: rules.slice(0, 10), EgressRules: rules.slice(0, 10) });
      const f = await find(ten);
      assert.deepEqual(
        f?.IngressRules.map((r) => r.Priority),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      assert.equal(f?.EgressRules.length, 10);
    });

    test('CreateTrafficMirrorFilter with a name or description starting with http:// is InvalidParameter', async () => {
      const e1 = await expectCode(() => create({ TrafficMirrorFilterName: 'http://x' }), 'InvalidParameter');
      assert.match(messageOf(e1), /TrafficMirrorFilterName/);
      const e2 = await expectCode(
        () => create({ TrafficMirrorFilterDescription: 'https://x' }, 'pop-get'),
        'InvalidParameter',
      );
      assert.match(messageOf(e2), /TrafficMirrorFilterDescription/);
      await expectCode(() => create({ TrafficMirrorFilterName: 'x'.repeat(129) }), 'InvalidParameter');
    });

    test('CreateTrafficMirrorFilter with a 257-character description is InvalidParameter naming TrafficMirrorFilterDescription; 256 characters are accepted (filters.md 3)', async () => {
      const err = await expectCode(
        () => create({ TrafficMirrorFilterDescription: 'd'.repeat(257) }),
        'InvalidParameter',
      );
      assert.equal(messageOf(err), 'The specified parameter "TrafficMirrorFilterDescription" is not valid.');
      const id = await create({ TrafficMirrorFilterDescription: 'd'.repeat(256) });
      assert.equal((await find(id))?.TrafficMirrorFilterDescription, 'd'.repeat(256));
    });

    test('CreateTrafficMirrorFilter without RegionId is MissingRegionId and with an unknown one InvalidRegionId.NotFound', async () => {
      await expectCode(() => callVia('pop-get', server, 'CreateTrafficMirrorFilter', {}), 'MissingRegionId');
      await expectCode(
        () => callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: 'xx-nowhere-1' }),
        'InvalidRegionId.NotFound',
      );
    });

    test('CreateTrafficMirrorFilter stores Tag.N and rejects bad tags with InvalidTagKey, InvalidTagValue, SizeLimitExceeded.TagNum and Forbidden.TagKey.Duplicated', async () => {
      await expectCode(() => create({ Tag: [{ Key: 'aliyun-x', Value: 'v' }] }), 'InvalidTagKey');
      await expectCode(() => create({ Tag: [{ Key: 'k', Value: 'acs:v' }] }, 'vpc-v1'), 'InvalidTagValue');
      const many = Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      await expectCode(() => create({ Tag: many }, 'pop-get'), 'SizeLimitExceeded.TagNum');
      await expectCode(
        () =>
          create(
            {
              Tag: [
                { Key: 'k', Value: '1' },
                { Key: 'k', Value: '2' },
              ],
            },
            'pop-post',
          ),
        'Forbidden.TagKey.Duplicated',
      );
      const id = await create({ Tag: many.slice(0, 20) });
      const f = await find(id);
      assert.equal((f?.Tags as unknown[] | undefined)?.length, 20);
      const tagged = await callVia('vpc-v3', server, 'ListTagResources', {
        RegionId: REGION,
        ResourceType: 'TRAFFICMIRRORFILTER',
        ResourceId: [id],
      });
      const rows = (tagged.TagResources as { TagResource: Array<Record<string, unknown>> }).TagResource;
      assert.equal(rows.length, 20);
      assert.equal(rows[0]?.ResourceType, 'TRAFFICMIRRORFILTER');
    });

    test('CreateTrafficMirrorFilter takes a ResourceGroupId and refuses a malformed one with InvalidResourceGroupId', async () => {
      const body = await callVia('vpc-v1', server, 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        ResourceGroupId: 'rg-aek2abcdefg1234',
      });
      assert.equal(body.ResourceGroupId, 'rg-aek2abcdefg1234');
      assert.equal((await find(String(body.TrafficMirrorFilterId)))?.ResourceGroupId, 'rg-aek2abcdefg1234');
      await expectCode(() => create({ ResourceGroupId: 'group-1' }), 'InvalidResourceGroupId');
      // Past the 64 characters of the parameter itself: still not a group id, not InvalidParameter.
      await expectCode(() => create({ ResourceGroupId: `rg-${'a'.repeat(62)}` }), 'InvalidResourceGroupId');
    });

    test('CreateTrafficMirrorFilter beyond the per-region filter quota is QuotaExceeded.TrafficMirrorFilter, also under DryRun', async () => {
      const region = 'cn-zhangjiakou';
      const limit = server.app.config.limits.filtersPerRegion;
      for (let i = 0; i < limit; i += 10) {
        await Promise.all(
          Array.from({ length: Math.min(10, limit - i) }, () =>
            callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: region }),
          ),
        );
      }
      const err = await expectCode(
        () => callVia('pop-post', server, 'CreateTrafficMirrorFilter', { RegionId: region }),
        'QuotaExceeded.TrafficMirrorFilter',
      );
      assert.equal(messageOf(err), `The number of traffic mirror filters exceeds the quota of ${limit}.`);
      await expectCode(
        () => callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: region, DryRun: true }),
        'QuotaExceeded.TrafficMirrorFilter',
      );
      const body = await list({ RegionId: region, MaxResults: 1 });
      assert.equal(body.TotalCount, String(limit));
      // Another region has its own quota.
      await create({}, 'vpc-v3');
    });

    test('CreateTrafficMirrorFilter with DryRun is DryRunOperation (HTTP 400) and creates nothing; a failing DryRun gets the real error', async () => {
      const err = await expectCode(
        () => create({ TrafficMirrorFilterName: 'dry-run-only', DryRun: true }),
        'DryRunOperation',
      );
      assert.equal(err.statusCode, 400);
      assert.equal(messageOf(err), 'Request validation has been passed with DryRun flag set.');
      await expectCode(
        () => create({ TrafficMirrorFilterName: 'dry-run-only', DryRun: true }, 'pop-get'),
        'DryRunOperation',
      );
      assert.deepEqual(await idsOf({ TrafficMirrorFilterName: 'dry-run-only' }), []);
      await expectCode(
        () => create({ DryRun: true, IngressRules: [{ Action: 'accept', Protocol: 'TCP' }] }),
        'InvalidParameter',
      );
    });

    test('UpdateTrafficMirrorFilterAttribute and DeleteTrafficMirrorFilter with DryRun are DryRunOperation and change nothing; on an unknown filter the DryRun is ResourceNotFound', async () => {
      const id = await createReady({ TrafficMirrorFilterName: 'keep' });
      await expectCode(
        () =>
          callVia('vpc-v1', server, 'UpdateTrafficMirrorFilterAttribute', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
            TrafficMirrorFilterName: 'changed',
            DryRun: true,
          }),
        'DryRunOperation',
      );
      await expectCode(
        () =>
          callVia('pop-post', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
            DryRun: true,
          }),
        'DryRunOperation',
      );
      const f = await find(id);
      assert.equal(f?.TrafficMirrorFilterName, 'keep');
      assert.equal(f?.TrafficMirrorFilterStatus, 'Created');
      await expectCode(
        () =>
          callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: 'tmf-doesnotexist0000000',
            DryRun: true,
          }),
        'ResourceNotFound.TrafficMirrorFilter',
      );
    });

    test('CreateTrafficMirrorFilter with the same ClientToken and parameters answers the same TrafficMirrorFilterId and creates one filter; other parameters are IdempotentParameterMismatch', async () => {
      const params = {
        TrafficMirrorFilterName: 'idem',
        ClientToken: 'token-filter-1',
        IngressRules: [{ Action: 'accept', Protocol: 'ALL' }],
      };
      const first = await create(params);
      const second = await create(params);
      const third = await create(params, 'vpc-v1');
      assert.equal(second, first);
      assert.equal(third, first);
      assert.deepEqual(await idsOf({ TrafficMirrorFilterName: 'idem' }), [first]);
      await expectCode(
        () => create({ ...params, TrafficMirrorFilterName: 'idem2' }),
        'IdempotentParameterMismatch',
      );
      assert.deepEqual(await idsOf({ TrafficMirrorFilterName: 'idem2' }), []);
    });

    test('ListTrafficMirrorFilters pages in creation order with a keyset NextToken that neither repeats nor skips while filters are created and deleted', async () => {
      const region = 'cn-qingdao';
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await create({ RegionId: region, TrafficMirrorFilterName: `page-${i}` }));
      }
      const [f0, f1, f2, f3, f4] = ids;
      const p1 = await list({ RegionId: region, MaxResults: 2 }, 'pop-get');
      assert.deepEqual(
        (p1.TrafficMirrorFilters as Filter[]).map((f) => f.TrafficMirrorFilterId),
        [f0, f1],
      );
      assert.equal(p1.TotalCount, '5');
      assert.equal(p1.Count, 2);
      assert.equal(p1.MaxResults, 2);
      assert.ok(typeof p1.NextToken === 'string' && p1.NextToken.length > 0);

      // Between pages: one filter of the next page goes away and a new one arrives.
      await server.advance({ resourceId: String(f2) });
      await callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
        RegionId: region,
        TrafficMirrorFilterId: f2,
      });
      await server.advance({ resourceId: String(f2) });
      const f5 = await create({ RegionId: region });

      const p2 = await list({ RegionId: region, MaxResults: 2, NextToken: p1.NextToken }, 'vpc-v1');
      assert.deepEqual(
        (p2.TrafficMirrorFilters as Filter[]).map((f) => f.TrafficMirrorFilterId),
        [f3, f4],
      );
      assert.equal(p2.TotalCount, '5');
      const p3 = await list({ RegionId: region, MaxResults: 2, NextToken: p2.NextToken }, 'pop-post');
      assert.deepEqual(
        (p3.TrafficMirrorFilters as Filter[]).map((f) => f.TrafficMirrorFilterId),
        [f5],
      );
      assert.equal(p3.NextToken, '');
      assert.equal(p3.Count, 1);

      for (let i = 0; i < 6; i++) await create({ RegionId: region });
      const all = await list({ RegionId: region });
      assert.equal(all.MaxResults, 10);
      assert.equal(all.Count, 10);
      assert.equal(all.TotalCount, '11');
      assert.notEqual(all.NextToken, '');
    });

    test('the typed ListTrafficMirrorFilters model of @alicloud/vpc20160428 reads the answer: plain arrays of filters, tags and rules, and their values (the model casts scalar types itself; the wire types are checked on raw answers)', async () => {
      const id = await createReady({
        TrafficMirrorFilterName: 'typed',
        Tag: [{ Key: 'k', Value: 'v' }],
        IngressRules: [
          {
            Action: 'accept',
            Protocol: 'TCP',
            Priority: 3,
            SourcePortRange: '1/65535',
            DestinationPortRange: '22/22',
          },
        ],
        EgressRules: [{ Action: 'drop', Protocol: 'ALL' }],
      });
      const answer = await vpcClient(server).listTrafficMirrorFilters(
        new Vpc.ListTrafficMirrorFiltersRequest({ regionId: REGION, trafficMirrorFilterIds: [id] }),
      );
      const body = answer.body;
      assert.deepEqual([body?.totalCount, body?.count, body?.maxResults], ['1', 1, 10]);
      const f = body?.trafficMirrorFilters?.[0];
      assert.equal(f?.trafficMirrorFilterId, id);
      assert.equal(f?.trafficMirrorFilterName, 'typed');
      assert.equal(f?.trafficMirrorFilterStatus, 'Created');
      assert.deepEqual(
        f?.tags?.map((t) => [t.key, t.value]),
        [['k', 'v']],
      );
      const ingress = f?.ingressRules?.[0];
      assert.equal(ingress?.priority, 3);
      assert.equal(ingress?.trafficDirection, 'ingress');
      assert.equal(ingress?.destinationPortRange, '22/22');
      assert.equal(ingress?.trafficMirrorFilterId, id);
      const egress = f?.egressRules?.[0];
      assert.equal(egress?.priority, 1);
      assert.deepEqual([egress?.action, egress?.sourcePortRange], ['drop', '-1/-1']);
    });

    test('ListTrafficMirrorFilters with a NextToken it did not issue is IllegalParam.NextToken', async () => {
      for (const [i, token] of ['garbage', 'dG0xOmFi', Buffer.from('tm1:5').toString('base64')].entries()) {
        const err = await expectCode(() => list({ NextToken: token }, modeAt(i)), 'IllegalParam.NextToken');
        assert.equal(messageOf(err), 'The specified NextToken is invalid.');
      }
    });

    test('ListTrafficMirrorFilters with MaxResults outside 1-100 or more than 100 ids is InvalidParameter, and more than 20 tags SizeLimitExceeded.TagNum', async () => {
      for (const [i, max] of [0, 101].entries()) {
        const err = await expectCode(() => list({ MaxResults: max }, modeAt(i)), 'InvalidParameter');
        assert.match(messageOf(err), /MaxResults/);
      }
      const ids = Array.from({ length: 101 }, (_, i) => `tmf-${String(i).padStart(21, '0')}`);
      await expectCode(() => list({ TrafficMirrorFilterIds: ids }, 'pop-post'), 'InvalidParameter');
      assert.equal((await list({ TrafficMirrorFilterIds: ids.slice(0, 100) })).TotalCount, '0');
      // An unknown id is absent however long it is (filters.md 11).
      assert.equal((await list({ TrafficMirrorFilterIds: [`tmf-${'z'.repeat(500)}`] })).TotalCount, '0');
      const tags = Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}` }));
      await expectCode(() => list({ Tags: tags }), 'SizeLimitExceeded.TagNum');
    });

    test('ListTrafficMirrorFilters filters by exact name, resource group and tags (all must match); unknown and other-region ids are simply absent', async () => {
      const region = 'cn-beijing';
      const a = await create({
        RegionId: region,
        TrafficMirrorFilterName: 'alpha',
        Tag: [
          { Key: 'env', Value: 'prod' },
          { Key: 'team', Value: 'a' },
        ],
      });
      const b = await create({
        RegionId: region,
        TrafficMirrorFilterName: 'alpha2',
        Tag: [{ Key: 'env', Value: 'prod' }],
      });
      const c = await create({
        RegionId: region,
        ResourceGroupId: 'rg-aek2zzzzzzz9999',
        Tag: [
          { Key: 'env', Value: 'dev' },
          { Key: 'team', Value: 'a' },
        ],
      });
      const elsewhere = await create({ RegionId: 'cn-shenzhen', TrafficMirrorFilterName: 'alpha' });

      assert.deepEqual(await idsOf({ TrafficMirrorFilterName: 'alpha' }, region), [a]);
      assert.deepEqual(await idsOf({ ResourceGroupId: 'rg-aek2zzzzzzz9999' }, region), [c]);
      assert.deepEqual(await idsOf({ Tags: [{ Key: 'env', Value: 'prod' }] }, region), [a, b]);
      assert.deepEqual(
        await idsOf(
          {
            Tags: [
              { Key: 'env', Value: 'prod' },
              { Key: 'team', Value: 'a' },
            ],
          },
          region,
        ),
        [a],
      );
      assert.deepEqual(await idsOf({ Tags: [{ Key: 'team' }] }, region), [a, c]);
      assert.deepEqual(await idsOf({ Tags: [{ Key: 'env', Value: 'test' }] }, region), []);
      const byTag = await list({ RegionId: region, Tags: [{ Key: 'team', Value: 'a' }] }, 'pop-get');
      assert.equal(byTag.TotalCount, '2');
      assert.deepEqual(
        await idsOf({ TrafficMirrorFilterIds: [a, 'tmf-unknown00000000000000', elsewhere, c] }, region),
        [a, c],
      );
      const viaV1 = await list({ RegionId: region, TrafficMirrorFilterIds: [b] }, 'vpc-v1');
      assert.equal((viaV1.TrafficMirrorFilters as Filter[])[0]?.TrafficMirrorFilterName, 'alpha2');
    });

    test('UpdateTrafficMirrorFilterAttribute treats an empty or absent name and description as unchanged', async () => {
      const id = await createReady({ TrafficMirrorFilterName: 'n1', TrafficMirrorFilterDescription: 'd1' });
      await callVia('pop-get', server, 'UpdateTrafficMirrorFilterAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
        TrafficMirrorFilterName: '',
        TrafficMirrorFilterDescription: 'd2',
      });
      let f = await find(id);
      assert.deepEqual([f?.TrafficMirrorFilterName, f?.TrafficMirrorFilterDescription], ['n1', 'd2']);
      await callVia('vpc-v1', server, 'UpdateTrafficMirrorFilterAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
        TrafficMirrorFilterName: 'n2',
      });
      f = await find(id);
      assert.deepEqual([f?.TrafficMirrorFilterName, f?.TrafficMirrorFilterDescription], ['n2', 'd2']);
      await expectCode(
        () =>
          callVia('vpc-v3', server, 'UpdateTrafficMirrorFilterAttribute', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
            TrafficMirrorFilterName: 'https://n3',
          }),
        'InvalidParameter',
      );
    });

    test('UpdateTrafficMirrorFilterAttribute on a Creating filter is IncorrectStatus.TrafficMirrorFilter', async () => {
      const id = await create();
      const err = await expectCode(
        () =>
          callVia('pop-post', server, 'UpdateTrafficMirrorFilterAttribute', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
            TrafficMirrorFilterName: 'x',
          }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      assert.equal(messageOf(err), 'The status of traffic mirror filter is incorrect.');
    });

    test('Update and Delete of an unknown, other-region or other-account filter are ResourceNotFound.TrafficMirrorFilter (HTTP 400), and List does not show it', async () => {
      const other = await foreignAccount(server);
      const theirs = String(
        (await callVia('vpc-v3', other, 'CreateTrafficMirrorFilter', { RegionId: REGION }))
          .TrafficMirrorFilterId,
      );
      await server.advance({ resourceId: theirs });
      const mine = await createReady();
      const cases: Array<[string, string]> = [
        ['tmf-doesnotexist0000000', REGION],
        [mine, 'cn-shanghai'],
        [theirs, REGION],
      ];
      for (const [i, [id, region]] of cases.entries()) {
        const e1 = await expectCode(
          () =>
            callVia(modeAt(i), server, 'UpdateTrafficMirrorFilterAttribute', {
              RegionId: region,
              TrafficMirrorFilterId: id,
              TrafficMirrorFilterName: 'x',
            }),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        assert.equal(messageOf(e1), 'The specified resource of traffic mirror filter is not found.');
        const e2 = await expectCode(
          () =>
            callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
              RegionId: region,
              TrafficMirrorFilterId: id,
            }),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        assert.equal(e2.statusCode, 400);
      }
      assert.equal(await find(theirs), undefined);
      assert.equal((await find(theirs, REGION, other))?.TrafficMirrorFilterStatus, 'Created');
      await expectCode(
        () => callVia('vpc-v1', server, 'DeleteTrafficMirrorFilter', { RegionId: REGION }),
        'MissingTrafficMirrorFilterId',
      );
    });

    test('DeleteTrafficMirrorFilter keeps a Deleting filter listed, then removes it with its rules and tags; later calls are ResourceNotFound.TrafficMirrorFilter', async () => {
      const id = await createReady({
        Tag: [{ Key: 'gone', Value: 'soon' }],
        IngressRules: [{ Action: 'accept', Protocol: 'ALL' }],
      });
      await callVia('vpc-v1', server, 'DeleteTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
      });
      const deleting = await find(id);
      assert.equal(deleting?.TrafficMirrorFilterStatus, 'Deleting');
      assert.equal(deleting?.IngressRules[0]?.TrafficMirrorFilterRuleStatus, 'Deleting');
      // A second delete while the first is under way.
      await expectCode(
        () =>
          callVia('pop-get', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
          }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await server.advance({ resourceId: id });
      assert.equal(await find(id), undefined);
      const tags = await callVia('vpc-v3', server, 'ListTagResources', {
        RegionId: REGION,
        ResourceType: 'TRAFFICMIRRORFILTER',
        ResourceId: [id],
      });
      assert.deepEqual((tags.TagResources as { TagResource: unknown[] }).TagResource, []);
      await expectCode(
        () =>
          callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
          }),
        'ResourceNotFound.TrafficMirrorFilter',
      );
    });

    test('DeleteTrafficMirrorFilter on a Creating filter is IncorrectStatus.TrafficMirrorFilter, and with a rule being changed IncorrectStatus.TrafficMirrorRule', async () => {
      const id = await create({ IngressRules: [{ Action: 'accept', Protocol: 'ALL' }] });
      await expectCode(
        () =>
          callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
          }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await server.advance({ resourceId: id });
      const ruleId = String((await find(id))?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      await callVia('vpc-v3', server, 'UpdateTrafficMirrorFilterRuleAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterRuleId: ruleId,
        RuleAction: 'drop',
      });
      const err = await expectCode(
        () =>
          callVia('pop-post', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
          }),
        'IncorrectStatus.TrafficMirrorRule',
      );
      assert.equal(messageOf(err), 'The status of traffic mirror rule is incorrect.');
      assert.equal((await find(id))?.TrafficMirrorFilterStatus, 'Created');
      await server.advance({ resourceId: ruleId });
      await callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
      });
    });

    test('two simultaneous DeleteTrafficMirrorFilter calls on one filter: exactly one succeeds, the other is IncorrectStatus.TrafficMirrorFilter', async () => {
      for (let round = 0; round < 3; round++) {
        const id = await createReady();
        const results = await Promise.allSettled(
          (['vpc-v3', 'pop-post', 'vpc-v1'] as const).map((mode) =>
            callVia(mode, server, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: id,
            }),
          ),
        );
        const ok = results.filter((r) => r.status === 'fulfilled');
        const failed = results.flatMap((r) =>
          r.status === 'rejected' ? [r.reason as Record<string, unknown>] : [],
        );
        assert.equal(ok.length, 1);
        assert.deepEqual(
          failed.map((e) => e.code),
          ['IncorrectStatus.TrafficMirrorFilter', 'IncorrectStatus.TrafficMirrorFilter'],
        );
        assert.equal(await server.advance({ resourceId: id }), 1);
      }
    });

    test('each filter operation is authorized on the RAM resource names of filters.md section 13', async () => {
      const id = await createReady();
      const nobody = await ramUser(server);
      const account = server.accountId;
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['CreateTrafficMirrorFilter', {}, `acs:vpc:${REGION}:${account}:trafficmirrorfilter/*`],
        ['ListTrafficMirrorFilters', {}, `acs:vpc:${REGION}:${account}:trafficmirrorfilter/*`],
        [
          'UpdateTrafficMirrorFilterAttribute',
          { TrafficMirrorFilterId: id },
          `acs:vpc:${REGION}:${account}:trafficmirrorfilter/${id}`,
        ],
        [
          'DeleteTrafficMirrorFilter',
          { TrafficMirrorFilterId: id },
          `acs:vpc:${REGION}:${account}:trafficmirrorfilter/${id}`,
        ],
      ];
      for (const [i, [action, params, resource]] of cases.entries()) {
        const err = await expectCode(
          () => callVia(modeAt(i), nobody, action, { RegionId: REGION, ...params }),
          'Forbidden.RAM',
        );
        assert.deepEqual(deniedResources(err), [resource], action);
      }
      // A policy on this one filter allows changing it, and only it.
      const scoped = await ramUser(server, {
        Version: '1',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'vpc:*TrafficMirrorFilter*',
            Resource: `acs:vpc:*:*:trafficmirrorfilter/${id}`,
          },
        ],
      });
      await callVia('vpc-v3', scoped, 'UpdateTrafficMirrorFilterAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
        TrafficMirrorFilterName: 'by-ram-user',
      });
      const other = await createReady();
      await expectCode(
        () =>
          callVia('vpc-v3', scoped, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: other,
          }),
        'Forbidden.RAM',
      );
      await expectCode(
        () => callVia('vpc-v3', scoped, 'ListTrafficMirrorFilters', { RegionId: REGION }),
        'Forbidden.RAM',
      );
      assert.equal((await find(id))?.TrafficMirrorFilterName, 'by-ram-user');
    });

    test('a filter used by a session cannot be deleted (IncorrectStatus.TrafficMirrorFilter) but can be renamed; once the session is gone it can', async () => {
      const id = await createReady();
      const session = await callVia('vpc-v3', server, 'CreateTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSourceIds: ['eni-filtertestsource000001'],
        TrafficMirrorTargetId: 'eni-filtertesttarget000001',
        TrafficMirrorTargetType: 'NetworkInterface',
        TrafficMirrorFilterId: id,
        Priority: 101,
      });
      const sessionId = String(session.TrafficMirrorSessionId);
      await server.advance({ resourceId: sessionId });
      await expectCode(
        () =>
          callVia('vpc-v1', server, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
          }),
        'IncorrectStatus.TrafficMirrorFilter',
      );
      await callVia('vpc-v3', server, 'UpdateTrafficMirrorFilterAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
        TrafficMirrorFilterName: 'in-use',
      });
      assert.equal((await find(id))?.TrafficMirrorFilterStatus, 'Created');
      await callVia('vpc-v3', server, 'DeleteTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSessionId: sessionId,
      });
      await server.advance({ resourceId: sessionId });
      await callVia('vpc-v3', server, 'DeleteTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
      });
      await server.advance({ resourceId: id });
      assert.equal(await find(id), undefined);
    });
  });
}
