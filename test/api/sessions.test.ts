/**
 * Traffic mirror sessions through the official clients: the lifecycle of every operation, the
 * parameter rules (defaults, ranges, priority uniqueness, target and source forms, quotas, tags,
 * resource groups), Update's "omitted means unchanged", source order, and the activation
 * operations OpenTrafficMirrorService / GetTrafficMirrorServiceStatus.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Vpc from '@alicloud/vpc20160428';
import { CLIENT_MODES, type ClientMode, callVia, expectCode, vpcClient } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';
import {
  addAccount,
  addRamUser,
  deleteCall,
  eni,
  getSession,
  httpStatusOf,
  makeFilter,
  makeSession,
  nodeWithLimits,
  priority,
  REGION,
  type Session,
  sessionParams,
  statusOf,
} from './session-fixtures.js';

function create(server: TestServer, params: Record<string, unknown>, mode: ClientMode = 'vpc-v3') {
  return callVia(mode, server, 'CreateTrafficMirrorSession', params);
}

function change(
  server: TestServer,
  action: string,
  id: string,
  params: Record<string, unknown>,
  mode: ClientMode = 'vpc-v3',
) {
  return callVia(mode, server, action, { RegionId: REGION, TrafficMirrorSessionId: id, ...params });
}

const update = (s: TestServer, id: string, p: Record<string, unknown>, mode: ClientMode = 'vpc-v3') =>
  change(s, 'UpdateTrafficMirrorSessionAttribute', id, p, mode);
const addSources = (s: TestServer, id: string, ids: string[], mode: ClientMode = 'vpc-v3') =>
  change(s, 'AddSourcesToTrafficMirrorSession', id, { TrafficMirrorSourceIds: ids }, mode);
const removeSources = (s: TestServer, id: string, ids: string[], mode: ClientMode = 'vpc-v3') =>
  change(s, 'RemoveSourcesFromTrafficMirrorSession', id, { TrafficMirrorSourceIds: ids }, mode);

async function must(server: TestServer, id: string): Promise<Session> {
  const s = await getSession(server, id);
  assert.ok(s, `session ${id} is listed`);
  return s;
}

/** Asserts the error names the parameter in its message ("The specified parameter "X" is not valid."). */
async function invalid(fn: () => Promise<unknown>, name: string): Promise<void> {
  const err = await expectCode(fn, 'InvalidParameter');
  assert.ok(String(err.message).includes(`"${name}"`), `${String(err.message)} should name ${name}`);
}

/**
 * A second node with small limits (2 sources per session, 1 session per source, 2 sessions per
 * region), a Created filter in `region`, and a Create through that node.
 */
async function smallLimits(server: TestServer, region: string) {
  const f = await makeFilter(server, { regionId: region });
  const node = await nodeWithLimits(server, {
    sourcesPerSession: 2,
    sessionsPerSource: 1,
    sessionsPerRegion: 2,
  });
  const call = (p: Record<string, unknown>) => callVia('vpc-v3', node.creds, 'CreateTrafficMirrorSession', p);
  return { node, f, call };
}

for (const storeKind of testStores()) {
  describe(`traffic mirror sessions [${storeKind}]`, () => {
    let server: TestServer;
    let filter: string;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      filter = await makeFilter(server);
    });
    after(() => server.close());

    describe('lifecycle', () => {
      for (const mode of CLIENT_MODES) {
        test(`Create, Update, AddSources, RemoveSources and Delete pass through Creating, Modifying and Deleting through ${mode}`, async () => {
          const created = await create(
            server,
            sessionParams(filter, { TrafficMirrorSourceIds: ['eni-life1'] }),
            mode,
          );
          const id = String(created.TrafficMirrorSessionId);
          assert.deepEqual(Object.keys(created).sort(), [
            'RequestId',
            'ResourceGroupId',
            'TrafficMirrorSessionId',
          ]);
          assert.equal(await statusOf(server, id, { mode }), 'Creating');
          await server.advance({ resourceId: id });
          assert.equal(await statusOf(server, id, { mode }), 'Created');

          const steps: Array<[string, () => Promise<Record<string, unknown>>]> = [
            ['Update', () => update(server, id, { TrafficMirrorSessionName: `n-${mode}` }, mode)],
            ['AddSources', () => addSources(server, id, ['eni-life2'], mode)],
            ['RemoveSources', () => removeSources(server, id, ['eni-life1'], mode)],
          ];
          for (const [name, step] of steps) {
            const body = await step();
            assert.deepEqual(Object.keys(body), ['RequestId'], name);
            assert.equal(await statusOf(server, id, { mode }), 'Modifying', name);
            await server.advance({ resourceId: id });
            assert.equal(await statusOf(server, id, { mode }), 'Created', name);
          }
          const s = await must(server, id);
          assert.equal(s.TrafficMirrorSessionName, `n-${mode}`);
          assert.deepEqual(s.TrafficMirrorSourceIds, ['eni-life2']);

          await deleteCall(server, id, {}, { mode });
          assert.equal(await statusOf(server, id, { mode }), 'Deleting');
          await server.advance({ resourceId: id });
          assert.equal(await statusOf(server, id, { mode }), 'gone');
        });
      }

      test('Update, AddSources and RemoveSources on a Creating, Modifying or Deleting session are IncorrectStatus.TrafficMirrorSession', async () => {
        const id = await makeSession(
          server,
          filter,
          { TrafficMirrorSourceIds: ['eni-busy1'] },
          { ready: false },
        );
        const attempts: Array<() => Promise<unknown>> = [
          () => update(server, id, { Enabled: true }),
          () => addSources(server, id, ['eni-busy2']),
          () => removeSources(server, id, ['eni-busy1']),
        ];
        for (const attempt of attempts) await expectCode(attempt, 'IncorrectStatus.TrafficMirrorSession');
        await server.advance({ resourceId: id });
        await update(server, id, { TrafficMirrorSessionName: 'x' });
        for (const attempt of attempts) await expectCode(attempt, 'IncorrectStatus.TrafficMirrorSession');
        await server.advance({ resourceId: id });
        await deleteCall(server, id);
        for (const attempt of attempts) await expectCode(attempt, 'IncorrectStatus.TrafficMirrorSession');
        const s = await must(server, id);
        assert.equal(s.Enabled, false);
        assert.equal(s.TrafficMirrorSessionName, 'x');
        assert.deepEqual(s.TrafficMirrorSourceIds, ['eni-busy1']);
      });

      test('Update, AddSources and RemoveSources of an unknown or foreign session are ResourceNotFound.TrafficMirrorSession', async () => {
        for (const id of ['tms-doesnotexist0000000']) {
          await expectCode(
            () => update(server, id, { Enabled: true }),
            'ResourceNotFound.TrafficMirrorSession',
          );
          await expectCode(() => addSources(server, id, ['eni-x1']), 'ResourceNotFound.TrafficMirrorSession');
          await expectCode(
            () => removeSources(server, id, ['eni-x1']),
            'ResourceNotFound.TrafficMirrorSession',
          );
        }
        const other = await addAccount(server);
        const f = await makeFilter(server, { creds: other });
        const foreign = await makeSession(server, f, {}, { creds: other });
        await expectCode(
          () => update(server, foreign, { Enabled: true }),
          'ResourceNotFound.TrafficMirrorSession',
        );
        await expectCode(
          () => addSources(server, foreign, ['eni-x1']),
          'ResourceNotFound.TrafficMirrorSession',
        );
        const shanghai = await makeFilter(server, { regionId: 'cn-shanghai' });
        const elsewhere = await makeSession(server, shanghai, {}, { regionId: 'cn-shanghai' });
        await expectCode(
          () => removeSources(server, elsewhere, ['eni-x1']),
          'ResourceNotFound.TrafficMirrorSession',
        );
      });

      test('EnableTrafficMirrorSession and DisableTrafficMirrorSession do not exist: InvalidAction.NotFound', async () => {
        const id = await makeSession(server, filter);
        for (const action of ['EnableTrafficMirrorSession', 'DisableTrafficMirrorSession']) {
          await expectCode(
            () => callVia('vpc-v3', server, action, { RegionId: REGION, TrafficMirrorSessionId: id }),
            'InvalidAction.NotFound',
          );
        }
      });
    });

    describe('CreateTrafficMirrorSession', () => {
      test('Create applies the defaults: disabled, 1500-byte packets, a random VNI, Normal, the account default resource group', async () => {
        const r = await create(server, sessionParams(filter));
        const id = String(r.TrafficMirrorSessionId);
        await server.advance({ resourceId: id });
        const s = await must(server, id);
        assert.equal(s.Enabled, false);
        assert.equal(s.PacketLength, 1500);
        assert.equal(s.TrafficMirrorSessionBusinessStatus, 'Normal');
        assert.equal(s.TrafficMirrorSessionName, '');
        assert.equal(s.TrafficMirrorSessionDescription, '');
        assert.deepEqual(s.Tags, []);
        assert.ok(Number.isInteger(s.VirtualNetworkId));
        assert.ok(Number(s.VirtualNetworkId) >= 0 && Number(s.VirtualNetworkId) <= 16777215);
        assert.match(String(r.ResourceGroupId), /^rg-[a-z0-9]+$/);
        assert.equal(s.ResourceGroupId, r.ResourceGroupId);
        assert.match(String(s.CreationTime), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/);
        assert.ok(Math.abs(Date.parse(String(s.CreationTime)) - Date.now()) < 120_000);
      });

      test('Create stores every given field and lists it back', async () => {
        const p = priority();
        const r = await create(
          server,
          sessionParams(filter, {
            TrafficMirrorSourceIds: ['eni-all1', 'eni-all2'],
            TrafficMirrorTargetId: 'lb-target1',
            TrafficMirrorTargetType: 'SLB',
            Priority: p,
            VirtualNetworkId: 0,
            PacketLength: 8500,
            Enabled: true,
            TrafficMirrorSessionName: 'name-1',
            TrafficMirrorSessionDescription: 'desc',
            ResourceGroupId: 'rg-abcdef12345',
            Tag: [
              { Key: 'env', Value: 'prod' },
              { Key: 'empty', Value: '' },
            ],
            TrafficMirrorSourceTruncateMode: 1,
          }),
          'pop-post',
        );
        const id = String(r.TrafficMirrorSessionId);
        assert.equal(r.ResourceGroupId, 'rg-abcdef12345');
        const s = await must(server, id);
        assert.deepEqual(
          { ...s, CreationTime: undefined },
          {
            CreationTime: undefined,
            Enabled: true,
            PacketLength: 8500,
            Priority: p,
            ResourceGroupId: 'rg-abcdef12345',
            Tags: [
              { Key: 'empty', Value: '' },
              { Key: 'env', Value: 'prod' },
            ],
            TrafficMirrorFilterId: filter,
            TrafficMirrorSessionBusinessStatus: 'Normal',
            TrafficMirrorSessionDescription: 'desc',
            TrafficMirrorSessionId: id,
            TrafficMirrorSessionName: 'name-1',
            TrafficMirrorSessionStatus: 'Creating',
            TrafficMirrorSourceIds: ['eni-all1', 'eni-all2'],
            TrafficMirrorTargetId: 'lb-target1',
            TrafficMirrorTargetType: 'SLB',
            VirtualNetworkId: 0,
          },
        );
      });

      test('Create without VirtualNetworkId picks different unused VNIs', async () => {
        const vnis = new Set<unknown>();
        for (let i = 0; i < 5; i++)
          vnis.add((await must(server, await makeSession(server, filter))).VirtualNetworkId);
        assert.equal(vnis.size, 5);
      });

      test('Create checks the ranges: PacketLength 64-8500, Priority 1-32766, VirtualNetworkId 0-16777215 (InvalidParameter)', async () => {
        await invalid(() => create(server, sessionParams(filter, { PacketLength: 63 })), 'PacketLength');
        await invalid(() => create(server, sessionParams(filter, { PacketLength: 8501 })), 'PacketLength');
        await invalid(() => create(server, sessionParams(filter, { Priority: 0 })), 'Priority');
        await invalid(() => create(server, sessionParams(filter, { Priority: 32767 })), 'Priority');
        await invalid(
          () => create(server, sessionParams(filter, { VirtualNetworkId: -1 })),
          'VirtualNetworkId',
        );
        await invalid(
          () => create(server, sessionParams(filter, { VirtualNetworkId: 16777216 })),
          'VirtualNetworkId',
        );
        await invalid(() => create(server, sessionParams(filter, { Enabled: 'yes' }), 'pop-get'), 'Enabled');
        const low = await makeSession(server, filter, {
          PacketLength: 64,
          Priority: 32766,
          VirtualNetworkId: 16777215,
        });
        const s = await must(server, low);
        assert.deepEqual([s.PacketLength, s.Priority, s.VirtualNetworkId], [64, 32766, 16777215]);
      });

      test('Create checks the lengths: TrafficMirrorSessionName 1-128 and TrafficMirrorSessionDescription 1-256 characters, InvalidParameter naming the one too long (sessions.md 2, 3)', async () => {
        await invalid(
          () => create(server, sessionParams(filter, { TrafficMirrorSessionName: 'n'.repeat(129) })),
          'TrafficMirrorSessionName',
        );
        await invalid(
          () => create(server, sessionParams(filter, { TrafficMirrorSessionDescription: 'd'.repeat(257) })),
          'TrafficMirrorSessionDescription',
        );
        const id = await makeSession(server, filter, {
          TrafficMirrorSessionName: 'n'.repeat(128),
          TrafficMirrorSessionDescription: 'd'.repeat(256),
        });
        const s = await must(server, id);
        assert.deepEqual(
          [s.TrafficMirrorSessionName, s.TrafficMirrorSessionDescription],
          ['n'.repeat(128), 'd'.repeat(256)],
        );
      });

      test('Create requires RegionId, sources, target, target type, filter and priority', async () => {
        const full = sessionParams(filter);
        const missing: Array<[string, string]> = [
          ['RegionId', 'MissingRegionId'],
          ['TrafficMirrorSourceIds', 'MissingParameter'],
          ['TrafficMirrorTargetId', 'MissingTrafficMirrorTargetId'],
          ['TrafficMirrorTargetType', 'MissingTrafficMirrorTargetType'],
          ['TrafficMirrorFilterId', 'MissingTrafficMirrorFilterId'],
          ['Priority', 'MissingPriority'],
        ];
        for (const [name, code] of missing) {
          const p = { ...full };
          delete p[name];
          await expectCode(() => create(server, p), code);
        }
      });

      test('a missing required parameter is reported before a malformed one, whatever their order (protocol.md 4, step 11)', async () => {
        const cases: Array<[Record<string, unknown>, string[], string]> = [
          [{ TrafficMirrorSourceIds: ['bad'] }, ['TrafficMirrorTargetId'], 'MissingTrafficMirrorTargetId'],
          [{ TrafficMirrorTargetType: 'nic' }, ['TrafficMirrorFilterId'], 'MissingTrafficMirrorFilterId'],
          [{ RegionId: 'xx-nowhere-1' }, ['Priority'], 'MissingPriority'],
          [{ Priority: 'high' }, ['TrafficMirrorSourceIds'], 'MissingParameter'],
        ];
        for (const [bad, absent, code] of cases) {
          const p = { ...sessionParams(filter), ...bad };
          for (const name of absent) delete p[name];
          await expectCode(() => create(server, p, 'pop-get'), code);
        }
        // Malformed and nothing missing: the malformed parameter's own error, as before.
        await invalid(
          () => create(server, sessionParams(filter, { TrafficMirrorTargetType: 'nic' }), 'pop-get'),
          'TrafficMirrorTargetType',
        );
      });

      test('Create takes TrafficMirrorTargetType in exact case only (NetworkInterface, SLB): InvalidParameter', async () => {
        for (const t of ['networkinterface', 'slb', 'GWLB', 'Eni']) {
          await invalid(
            () => create(server, sessionParams(filter, { TrafficMirrorTargetType: t })),
            'TrafficMirrorTargetType',
          );
        }
      });

      test('Create checks the target form: eni- for NetworkInterface, lb- for SLB (InvalidParameter naming TrafficMirrorTargetId)', async () => {
        await invalid(
          () =>
            create(
              server,
              sessionParams(filter, {
                TrafficMirrorTargetId: 'lb-x1',
                TrafficMirrorTargetType: 'NetworkInterface',
              }),
            ),
          'TrafficMirrorTargetId',
        );
        await invalid(
          () =>
            create(
              server,
              sessionParams(filter, { TrafficMirrorTargetId: 'eni-x1', TrafficMirrorTargetType: 'SLB' }),
            ),
          'TrafficMirrorTargetId',
        );
        await invalid(
          () =>
            create(
              server,
              sessionParams(filter, {
                TrafficMirrorTargetId: 'i-x1',
                TrafficMirrorTargetType: 'NetworkInterface',
              }),
            ),
          'TrafficMirrorTargetId',
        );
      });

      test('Create checks the sources: eni- ids, no repeats (InvalidParameter naming TrafficMirrorSourceIds.N)', async () => {
        await invalid(
          () => create(server, sessionParams(filter, { TrafficMirrorSourceIds: ['i-notaneni'] })),
          'TrafficMirrorSourceIds.1',
        );
        await invalid(
          () => create(server, sessionParams(filter, { TrafficMirrorSourceIds: ['eni-rep1', 'eni-rep1'] })),
          'TrafficMirrorSourceIds.2',
        );
      });

      test('Create needs a Created filter of the same account and region: ResourceNotFound / IncorrectStatus.TrafficMirrorFilter', async () => {
        await expectCode(
          () => create(server, sessionParams('tmf-doesnotexist000000000')),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        const shanghai = await makeFilter(server, { regionId: 'cn-shanghai' });
        await expectCode(
          () => create(server, sessionParams(shanghai)),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        const other = await addAccount(server);
        const foreign = await makeFilter(server, { creds: other });
        await expectCode(
          () => create(server, sessionParams(foreign)),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        const creating = await makeFilter(server, { ready: false });
        const err = await expectCode(
          () => create(server, sessionParams(creating)),
          'IncorrectStatus.TrafficMirrorFilter',
        );
        assert.ok(String(err.message).includes('The status of traffic mirror filter is incorrect.'));
        await server.advance({ resourceId: creating });
        await makeSession(server, creating);
      });

      test('Create with a priority another session of the account and region holds is InvalidParameter naming Priority', async () => {
        const p = priority();
        const first = await makeSession(server, filter, { Priority: p });
        await invalid(() => create(server, sessionParams(filter, { Priority: p })), 'Priority');
        await invalid(() => create(server, sessionParams(filter, { Priority: p, DryRun: true })), 'Priority');
        // Other regions and other accounts have their own priorities.
        const shanghai = await makeFilter(server, { regionId: 'cn-shanghai' });
        await makeSession(server, shanghai, { Priority: p }, { regionId: 'cn-shanghai' });
        const other = await addAccount(server);
        const foreign = await makeFilter(server, { creds: other });
        await makeSession(server, foreign, { Priority: p }, { creds: other });
        // Once the holder is gone the priority is free again.
        await deleteCall(server, first);
        await invalid(() => create(server, sessionParams(filter, { Priority: p })), 'Priority');
        await server.advance({ resourceId: first });
        await makeSession(server, filter, { Priority: p });
      });

      test('Create checks tags: SizeLimitExceeded.TagNum, InvalidTagKey, InvalidTagValue, Forbidden.TagKey.Duplicated', async () => {
        const many = Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
        await expectCode(
          () => create(server, sessionParams(filter, { Tag: many })),
          'SizeLimitExceeded.TagNum',
        );
        for (const Key of ['aliyun-x', 'acs:x', 'a http://b', 'k'.repeat(129)]) {
          await expectCode(
            () => create(server, sessionParams(filter, { Tag: [{ Key, Value: 'v' }] })),
            'InvalidTagKey',
          );
        }
        await expectCode(
          () => create(server, sessionParams(filter, { Tag: [{ Key: 'k', Value: 'https://x' }] })),
          'InvalidTagValue',
        );
        await expectCode(
          () =>
            create(
              server,
              sessionParams(filter, {
                Tag: [
                  { Key: 'k', Value: '1' },
                  { Key: 'k', Value: '2' },
                ],
              }),
            ),
          'Forbidden.TagKey.Duplicated',
        );
        const twenty = Array.from({ length: 20 }, (_, i) => ({
          Key: `k${String(i).padStart(2, '0')}`,
          Value: 'v',
        }));
        const id = await makeSession(server, filter, { Tag: twenty });
        assert.equal((await must(server, id)).Tags.length, 20);
      });

      test('Create with a malformed ResourceGroupId is InvalidResourceGroupId', async () => {
        await expectCode(
          () => create(server, sessionParams(filter, { ResourceGroupId: 'group-1' })),
          'InvalidResourceGroupId',
        );
        await expectCode(
          () => create(server, sessionParams(filter, { ResourceGroupId: `rg-${'a'.repeat(62)}` })),
          'InvalidResourceGroupId',
        );
      });

      test('Create with DryRun=true is DryRunOperation and creates nothing', async () => {
        const p = priority();
        const before = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
          RegionId: REGION,
          Priority: p,
        });
        assert.equal(before.TotalCount, '0');
        for (const mode of CLIENT_MODES) {
          await expectCode(
            () => create(server, sessionParams(filter, { Priority: p, DryRun: true }), mode),
            'DryRunOperation',
          );
        }
        const afterDry = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
          RegionId: REGION,
          Priority: p,
        });
        assert.equal(afterDry.TotalCount, '0');
        await makeSession(server, filter, { Priority: p });
      });

      test('Create with the same ClientToken twice returns the same session and creates one', async () => {
        const params = sessionParams(filter, { ClientToken: 'create-once' });
        const a = await create(server, params);
        const b = await create(server, params, 'vpc-v1');
        assert.equal(a.TrafficMirrorSessionId, b.TrafficMirrorSessionId);
        assert.notEqual(a.RequestId, b.RequestId);
        const list = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
          RegionId: REGION,
          Priority: params.Priority,
        });
        assert.equal(list.TotalCount, '1');
        await expectCode(
          () => create(server, { ...params, TrafficMirrorSessionName: 'changed' }),
          'IdempotentParameterMismatch',
        );
      });

      test('a retry that says the same in other words replays the first answer; one that differs is still a mismatch', async () => {
        const params = sessionParams(filter, { ClientToken: 'create-same-meaning' });
        const a = await create(server, params, 'pop-post');
        for (const retry of [
          // Parameters the service accepts and ignores (sessions.md 1.2).
          {
            ...params,
            OwnerId: '123456',
            OwnerAccount: 'x',
            ResourceOwnerId: '7',
            ResourceOwnerAccount: 'y',
          },
          { ...params, Priority: `0${String(params.Priority)}` },
          // An empty optional parameter is one left out.
          { ...params, TrafficMirrorSessionDescription: '' },
        ]) {
          const b = await create(server, retry, 'pop-post');
          assert.equal(b.TrafficMirrorSessionId, a.TrafficMirrorSessionId, JSON.stringify(retry));
        }
        await expectCode(
          () => create(server, { ...params, PacketLength: 1400 }, 'pop-post'),
          'IdempotentParameterMismatch',
        );
      });

      test('Create does not depend on OpenTrafficMirrorService having been called', async () => {
        const status = await callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', {
          RegionId: 'cn-beijing',
        });
        assert.equal(status.Enabled, false);
        const f = await makeFilter(server, { regionId: 'cn-beijing' });
        const id = await makeSession(server, f, {}, { regionId: 'cn-beijing' });
        assert.equal(await statusOf(server, id, { regionId: 'cn-beijing' }), 'Created');
      });
    });

    describe('quotas', () => {
      test('Create with more than 10 sources is QuotaExceeded.TrafficMirrorSource; 10 are fine', async () => {
        const ten = Array.from({ length: 10 }, () => eni());
        const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ten });
        assert.deepEqual((await must(server, id)).TrafficMirrorSourceIds, ten);
        await expectCode(
          () =>
            create(
              server,
              sessionParams(filter, { TrafficMirrorSourceIds: [...ten.map((e) => `${e}b`), eni()] }),
            ),
          'QuotaExceeded.TrafficMirrorSource',
        );
        await expectCode(() => addSources(server, id, [eni()]), 'QuotaExceeded.TrafficMirrorSource');
      });

      test('a source ENI in 3 sessions cannot join a fourth: QuotaExceeded.TrafficMirrorSession on Create and AddSources', async () => {
        const shared = eni();
        for (let i = 0; i < 3; i++) await makeSession(server, filter, { TrafficMirrorSourceIds: [shared] });
        await expectCode(
          () => create(server, sessionParams(filter, { TrafficMirrorSourceIds: [shared] })),
          'QuotaExceeded.TrafficMirrorSession',
        );
        const fourth = await makeSession(server, filter);
        await expectCode(() => addSources(server, fourth, [shared]), 'QuotaExceeded.TrafficMirrorSession');
      });

      test('the configured limits apply: sources per session, sessions per source, sessions per region', async () => {
        const { node, f, call } = await smallLimits(server, 'cn-qingdao');
        try {
          const params = (extra: Record<string, unknown>) =>
            sessionParams(f, { RegionId: 'cn-qingdao', ...extra });
          const err = await expectCode(
            () => call(params({ TrafficMirrorSourceIds: [eni(), eni(), eni()] })),
            'QuotaExceeded.TrafficMirrorSource',
          );
          assert.ok(String(err.message).includes('2'));
          const shared = eni();
          await call(params({ TrafficMirrorSourceIds: [shared, eni()] }));
          await expectCode(
            () => call(params({ TrafficMirrorSourceIds: [shared] })),
            'QuotaExceeded.TrafficMirrorSession',
          );
          await call(params({}));
          await expectCode(() => call(params({})), 'QuotaExceeded.TrafficMirrorSession');
          await expectCode(() => call(params({ DryRun: true })), 'QuotaExceeded.TrafficMirrorSession');
        } finally {
          await node.close();
        }
      });

      test('Create with several faults reports the first of: resource group, target, sources, filter, priority, region quota, source quota', async () => {
        const region = 'cn-zhangjiakou';
        const { node, f, call } = await smallLimits(server, region);
        try {
          const busy = await makeFilter(server, { regionId: region, ready: false });
          const shared = eni();
          const held = priority();
          await call(
            sessionParams(f, { RegionId: region, TrafficMirrorSourceIds: [shared], Priority: held }),
          );
          const second = await call(sessionParams(f, { RegionId: region }));
          const secondId = String(second.TrafficMirrorSessionId);
          await server.advance({ resourceId: secondId });
          // Every fault at once, then one fixed at a time.
          const faults: Record<string, unknown> = {
            RegionId: region,
            ResourceGroupId: 'group-1',
            TrafficMirrorTargetId: 'eni-target1',
            TrafficMirrorTargetType: 'SLB',
            TrafficMirrorSourceIds: [shared, shared, eni()],
            TrafficMirrorFilterId: 'tmf-doesnotexist000000000',
            Priority: held,
          };
          const next = async (code: string, fix: Record<string, unknown>) => {
            const err = await expectCode(() => call(faults), code);
            for (const [k, v] of Object.entries(fix)) {
              if (v === undefined) delete faults[k];
              else faults[k] = v;
            }
            return String(err.message);
          };
          await next('InvalidResourceGroupId', { ResourceGroupId: undefined });
          assert.match(
            await next('InvalidParameter', { TrafficMirrorTargetType: 'NetworkInterface' }),
            /TrafficMirrorTargetId/,
          );
          assert.match(
            await next('InvalidParameter', { TrafficMirrorSourceIds: [shared, eni(), eni()] }),
            /TrafficMirrorSourceIds/,
          );
          await next('QuotaExceeded.TrafficMirrorSource', { TrafficMirrorSourceIds: [shared] });
          await next('ResourceNotFound.TrafficMirrorFilter', { TrafficMirrorFilterId: busy });
          await next('IncorrectStatus.TrafficMirrorFilter', { TrafficMirrorFilterId: f });
          assert.match(await next('InvalidParameter', { Priority: priority() }), /Priority/);
          assert.match(await next('QuotaExceeded.TrafficMirrorSession', {}), /quota of 2\./);
          await deleteCall(server, secondId, {}, { regionId: region });
          await server.advance({ resourceId: secondId });
          assert.match(
            await next('QuotaExceeded.TrafficMirrorSession', { TrafficMirrorSourceIds: [eni()] }),
            /quota of 1\./,
          );
          const created = await call(faults);
          assert.match(String(created.TrafficMirrorSessionId), /^tms-/);
        } finally {
          await node.close();
        }
      });
    });

    describe('UpdateTrafficMirrorSessionAttribute', () => {
      test('Update changes only the fields sent; Enabled omitted stays as it is', async () => {
        const p = priority();
        const id = await makeSession(server, filter, {
          Enabled: true,
          PacketLength: 1000,
          VirtualNetworkId: 77,
          Priority: p,
          TrafficMirrorSessionName: 'before',
          TrafficMirrorSessionDescription: 'd',
        });
        const before = await must(server, id);
        await update(server, id, { TrafficMirrorSessionName: 'after' });
        await server.advance({ resourceId: id });
        assert.deepEqual(await must(server, id), { ...before, TrafficMirrorSessionName: 'after' });
        await update(server, id, { Enabled: false }, 'pop-get');
        await server.advance({ resourceId: id });
        assert.equal((await must(server, id)).Enabled, false);
        await update(server, id, {
          Enabled: true,
          PacketLength: 64,
          VirtualNetworkId: 0,
          TrafficMirrorSessionDescription: 'e',
        });
        await server.advance({ resourceId: id });
        const s = await must(server, id);
        assert.deepEqual(
          [s.Enabled, s.PacketLength, s.VirtualNetworkId, s.TrafficMirrorSessionDescription, s.Priority],
          [true, 64, 0, 'e', p],
        );
      });

      test("Update re-sending the session's own target, type, filter and priority (as Terraform does) succeeds", async () => {
        const p = priority();
        const id = await makeSession(server, filter, { Priority: p });
        for (const mode of CLIENT_MODES) {
          await update(
            server,
            id,
            {
              TrafficMirrorTargetId: 'eni-target1',
              TrafficMirrorTargetType: 'NetworkInterface',
              TrafficMirrorFilterId: filter,
              Priority: p,
            },
            mode,
          );
          assert.equal(await statusOf(server, id), 'Modifying');
          await server.advance({ resourceId: id });
          assert.equal((await must(server, id)).Priority, p);
        }
        await update(server, id, {});
        await server.advance({ resourceId: id });
        assert.equal(await statusOf(server, id), 'Created');
      });

      test("Update to another session's priority is InvalidParameter naming Priority; a free one is taken", async () => {
        const taken = priority();
        await makeSession(server, filter, { Priority: taken });
        const id = await makeSession(server, filter);
        await invalid(() => update(server, id, { Priority: taken }), 'Priority');
        const free = priority();
        await update(server, id, { Priority: free });
        await server.advance({ resourceId: id });
        assert.equal((await must(server, id)).Priority, free);
      });

      test('Update to a new filter needs it to exist and be idle: ResourceNotFound / IncorrectStatus.TrafficMirrorFilter', async () => {
        const id = await makeSession(server, filter);
        await expectCode(
          () => update(server, id, { TrafficMirrorFilterId: 'tmf-doesnotexist000000000' }),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        const busy = await makeFilter(server, { ready: false });
        await expectCode(
          () => update(server, id, { TrafficMirrorFilterId: busy }),
          'IncorrectStatus.TrafficMirrorFilter',
        );
        assert.equal(await statusOf(server, id), 'Created');
        await server.advance({ resourceId: busy });
        await update(server, id, { TrafficMirrorFilterId: busy });
        await server.advance({ resourceId: id });
        assert.equal((await must(server, id)).TrafficMirrorFilterId, busy);
      });

      test('Update checks the target against the effective type: InvalidParameter naming TrafficMirrorTargetId', async () => {
        const id = await makeSession(server, filter);
        await invalid(() => update(server, id, { TrafficMirrorTargetType: 'SLB' }), 'TrafficMirrorTargetId');
        await invalid(() => update(server, id, { TrafficMirrorTargetId: 'lb-x1' }), 'TrafficMirrorTargetId');
        await update(server, id, { TrafficMirrorTargetType: 'SLB', TrafficMirrorTargetId: 'lb-new1' });
        await server.advance({ resourceId: id });
        const s = await must(server, id);
        assert.deepEqual([s.TrafficMirrorTargetType, s.TrafficMirrorTargetId], ['SLB', 'lb-new1']);
      });

      test('Update checks ranges like Create (InvalidParameter)', async () => {
        const id = await makeSession(server, filter);
        await invalid(() => update(server, id, { PacketLength: 8501 }), 'PacketLength');
        await invalid(() => update(server, id, { Priority: 0 }), 'Priority');
        await invalid(() => update(server, id, { VirtualNetworkId: 16777216 }), 'VirtualNetworkId');
        await invalid(
          () => update(server, id, { TrafficMirrorTargetType: 'slb' }),
          'TrafficMirrorTargetType',
        );
        await invalid(
          () => update(server, id, { TrafficMirrorSessionName: 'http://x' }),
          'TrafficMirrorSessionName',
        );
      });

      test('Update with DryRun=true is DryRunOperation and changes nothing', async () => {
        const id = await makeSession(server, filter);
        const before = await must(server, id);
        await expectCode(() => update(server, id, { Enabled: true, DryRun: true }), 'DryRunOperation');
        assert.deepEqual(await must(server, id), before);
      });
    });

    describe('AddSourcesToTrafficMirrorSession / RemoveSourcesFromTrafficMirrorSession', () => {
      test('sources list in the order they were added, also after removing and re-adding', async () => {
        const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ['eni-ord1', 'eni-ord2'] });
        const steps: Array<[() => Promise<unknown>, string[]]> = [
          [
            () => addSources(server, id, ['eni-ord3', 'eni-ord0']),
            ['eni-ord1', 'eni-ord2', 'eni-ord3', 'eni-ord0'],
          ],
          [() => removeSources(server, id, ['eni-ord2'], 'pop-get'), ['eni-ord1', 'eni-ord3', 'eni-ord0']],
          [
            () => addSources(server, id, ['eni-ord2'], 'pop-post'),
            ['eni-ord1', 'eni-ord3', 'eni-ord0', 'eni-ord2'],
          ],
          [() => removeSources(server, id, ['eni-ord1', 'eni-ord3', 'eni-ord0', 'eni-ord2'], 'vpc-v1'), []],
          [() => addSources(server, id, ['eni-ord9']), ['eni-ord9']],
        ];
        for (const [step, expected] of steps) {
          await step();
          await server.advance({ resourceId: id });
          assert.deepEqual((await must(server, id)).TrafficMirrorSourceIds, expected);
        }
      });

      test('adding a source already in the session is InvalidParameter naming TrafficMirrorSourceIds.N', async () => {
        const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ['eni-dup1'] });
        await invalid(() => addSources(server, id, ['eni-dup2', 'eni-dup1']), 'TrafficMirrorSourceIds.2');
        await invalid(() => addSources(server, id, ['eni-dup3', 'eni-dup3']), 'TrafficMirrorSourceIds.2');
        assert.equal(await statusOf(server, id), 'Created');
      });

      test('an ENI cannot mirror to itself: a source equal to the target is InvalidParameter on Create, Add and an Update of the target', async () => {
        await invalid(
          () =>
            create(
              server,
              sessionParams(filter, {
                TrafficMirrorSourceIds: ['eni-self0', 'eni-self1'],
                TrafficMirrorTargetId: 'eni-self1',
              }),
              'pop-get',
            ),
          'TrafficMirrorSourceIds.2',
        );
        const id = await makeSession(server, filter, {
          TrafficMirrorSourceIds: ['eni-self2'],
          TrafficMirrorTargetId: 'eni-self3',
        });
        await invalid(
          () => addSources(server, id, ['eni-self4', 'eni-self3'], 'vpc-v1'),
          'TrafficMirrorSourceIds.2',
        );
        await invalid(
          () => update(server, id, { TrafficMirrorTargetId: 'eni-self2' }),
          'TrafficMirrorTargetId',
        );
        assert.equal(await statusOf(server, id), 'Created');
        // The target re-sent unchanged, as Terraform does, is not a conflict; another ENI is accepted.
        await update(server, id, {
          TrafficMirrorTargetId: 'eni-self3',
          TrafficMirrorTargetType: 'NetworkInterface',
        });
        await server.advance({ resourceId: id });
        await update(server, id, { TrafficMirrorTargetId: 'eni-self4' }, 'pop-post');
        await server.advance({ resourceId: id });
        assert.equal((await must(server, id)).TrafficMirrorTargetId, 'eni-self4');
      });

      test('a source error names the index the client sent, gaps included', async () => {
        const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ['eni-gap1'] });
        for (const [sources, name] of [
          [
            { 'TrafficMirrorSourceIds.2': 'eni-gap2', 'TrafficMirrorSourceIds.7': 'eni-gap2' },
            'TrafficMirrorSourceIds.7',
          ],
          [
            { 'TrafficMirrorSourceIds.3': 'eni-gap3', 'TrafficMirrorSourceIds.4': 'eni-gap1' },
            'TrafficMirrorSourceIds.4',
          ],
        ] as const) {
          await invalid(
            () =>
              callVia('pop-post', server, 'AddSourcesToTrafficMirrorSession', {
                RegionId: REGION,
                TrafficMirrorSessionId: id,
                ...sources,
              }),
            name,
          );
        }
        assert.equal(await statusOf(server, id), 'Created');
      });

      test('removing a source that is not in the session is InvalidParameter naming TrafficMirrorSourceIds.N', async () => {
        const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ['eni-rm1'] });
        await invalid(() => removeSources(server, id, ['eni-rm2']), 'TrafficMirrorSourceIds.1');
        await invalid(() => removeSources(server, id, ['eni-rm1', 'eni-rm2']), 'TrafficMirrorSourceIds.2');
        assert.deepEqual((await must(server, id)).TrafficMirrorSourceIds, ['eni-rm1']);
      });

      test('AddSources and RemoveSources require TrafficMirrorSourceIds (MissingParameter) in eni- form (InvalidParameter)', async () => {
        const id = await makeSession(server, filter);
        await expectCode(
          () => change(server, 'AddSourcesToTrafficMirrorSession', id, {}),
          'MissingParameter',
        );
        await expectCode(
          () => change(server, 'RemoveSourcesFromTrafficMirrorSession', id, {}),
          'MissingParameter',
        );
        await invalid(() => addSources(server, id, ['lb-x1']), 'TrafficMirrorSourceIds.1');
      });

      test('what the input alone decides comes before the session: a source named twice, or a whole target of the wrong form, on a missing session is InvalidParameter', async () => {
        const missing = 'tms-doesnotexist0000000000';
        await invalid(
          () => addSources(server, missing, ['eni-twice', 'eni-twice']),
          'TrafficMirrorSourceIds.2',
        );
        await invalid(
          () => removeSources(server, missing, ['eni-twice', 'eni-twice']),
          'TrafficMirrorSourceIds.2',
        );
        await invalid(
          () =>
            update(server, missing, {
              TrafficMirrorTargetId: 'lb-wrongform',
              TrafficMirrorTargetType: 'NetworkInterface',
            }),
          'TrafficMirrorTargetId',
        );
        // Half a target is checked against the session's other half, so the session comes first.
        await expectCode(
          () => update(server, missing, { TrafficMirrorTargetId: 'lb-wrongform' }),
          'ResourceNotFound.TrafficMirrorSession',
        );
      });

      test('AddSources and RemoveSources with DryRun=true are DryRunOperation and change nothing', async () => {
        const id = await makeSession(server, filter, { TrafficMirrorSourceIds: ['eni-dry1'] });
        await expectCode(
          () =>
            change(server, 'AddSourcesToTrafficMirrorSession', id, {
              TrafficMirrorSourceIds: ['eni-dry2'],
              DryRun: true,
            }),
          'DryRunOperation',
        );
        await expectCode(
          () =>
            change(server, 'RemoveSourcesFromTrafficMirrorSession', id, {
              TrafficMirrorSourceIds: ['eni-dry1'],
              DryRun: true,
            }),
          'DryRunOperation',
        );
        const s = await must(server, id);
        assert.deepEqual([s.TrafficMirrorSessionStatus, s.TrafficMirrorSourceIds], ['Created', ['eni-dry1']]);
      });
    });

    describe('the typed models of @alicloud/vpc20160428', () => {
      test('createTrafficMirrorSession, listTrafficMirrorSessions and deleteTrafficMirrorSession parse the answers into their models', async () => {
        const client = vpcClient(server);
        const created = await client.createTrafficMirrorSession(
          new Vpc.CreateTrafficMirrorSessionRequest({
            regionId: REGION,
            trafficMirrorSourceIds: ['eni-typed1', 'eni-typed2'],
            trafficMirrorTargetId: 'eni-typedt',
            trafficMirrorTargetType: 'NetworkInterface',
            trafficMirrorFilterId: filter,
            priority: priority(),
            tag: [new Vpc.CreateTrafficMirrorSessionRequestTag({ key: 'k', value: 'v' })],
          }),
        );
        const id = created.body?.trafficMirrorSessionId ?? '';
        assert.match(id, /^tms-/);
        const listed = await client.listTrafficMirrorSessions(
          new Vpc.ListTrafficMirrorSessionsRequest({ regionId: REGION, trafficMirrorSessionIds: [id] }),
        );
        assert.equal(listed.body?.totalCount, '1');
        const s = listed.body?.trafficMirrorSessions?.[0];
        assert.deepEqual(s?.trafficMirrorSourceIds, ['eni-typed1', 'eni-typed2']);
        assert.equal(s?.tags?.[0]?.key, 'k');
        assert.equal(s?.enabled, false);
        assert.equal(s?.trafficMirrorSessionStatus, 'Creating');
        await server.advance({ resourceId: id });
        const deleted = await client.deleteTrafficMirrorSession(
          new Vpc.DeleteTrafficMirrorSessionRequest({ regionId: REGION, trafficMirrorSessionId: id }),
        );
        assert.match(deleted.body?.requestId ?? '', /^[0-9A-F-]{36}$/);
      });
    });
  });

  describe(`OpenTrafficMirrorService and GetTrafficMirrorServiceStatus [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
    });
    after(() => server.close());

    const regions: Record<ClientMode, string> = {
      'vpc-v3': 'cn-shenzhen',
      'vpc-v1': 'cn-beijing',
      'pop-get': 'cn-hongkong',
      'pop-post': 'ap-southeast-1',
    };
    for (const mode of CLIENT_MODES) {
      test(`Open answers Code "200" and "successful", Get then reports Enabled, a second Open is ORDER.OPEND, through ${mode}`, async () => {
        const region = regions[mode];
        const before = await callVia(mode, server, 'GetTrafficMirrorServiceStatus', { RegionId: region });
        assert.deepEqual(Object.keys(before).sort(), ['Enabled', 'RequestId']);
        assert.equal(before.Enabled, false);
        const opened = await callVia(mode, server, 'OpenTrafficMirrorService', { RegionId: region });
        assert.deepEqual(
          { ...opened, RequestId: 'x' },
          { RequestId: 'x', Code: '200', Message: 'successful' },
        );
        const status = await callVia(mode, server, 'GetTrafficMirrorServiceStatus', { RegionId: region });
        assert.equal(status.Enabled, true);
        const err = await expectCode(
          () => callVia(mode, server, 'OpenTrafficMirrorService', { RegionId: region }),
          'ORDER.OPEND',
        );
        assert.equal(httpStatusOf(err), 400);
      });
    }

    test('activation is per region and per account', async () => {
      await callVia('vpc-v3', server, 'OpenTrafficMirrorService', { RegionId: 'eu-central-1' });
      const other = await addAccount(server);
      assert.equal(
        (await callVia('vpc-v3', other, 'GetTrafficMirrorServiceStatus', { RegionId: 'eu-central-1' }))
          .Enabled,
        false,
      );
      assert.equal(
        (await callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', { RegionId: 'eu-west-1' })).Enabled,
        false,
      );
      await callVia('vpc-v3', other, 'OpenTrafficMirrorService', { RegionId: 'eu-central-1' });
    });

    test('without RegionId both act on the default region (the first configured: cn-hangzhou)', async () => {
      assert.equal((await callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', {})).Enabled, false);
      await callVia('pop-post', server, 'OpenTrafficMirrorService', {});
      assert.equal((await callVia('pop-get', server, 'GetTrafficMirrorServiceStatus', {})).Enabled, true);
      assert.equal(
        (await callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', { RegionId: 'cn-hangzhou' }))
          .Enabled,
        true,
      );
      await expectCode(
        () => callVia('vpc-v3', server, 'OpenTrafficMirrorService', { RegionId: 'cn-hangzhou' }),
        'ORDER.OPEND',
      );
    });

    test('an unknown RegionId is InvalidRegionId.NotFound', async () => {
      await expectCode(
        () => callVia('vpc-v3', server, 'OpenTrafficMirrorService', { RegionId: 'xx-nowhere-1' }),
        'InvalidRegionId.NotFound',
      );
      await expectCode(
        () => callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', { RegionId: 'xx-nowhere-1' }),
        'InvalidRegionId.NotFound',
      );
    });

    test('Open with a repeated ClientToken answers the first success again, not ORDER.OPEND; Get ignores its ClientToken', async () => {
      const a = await callVia('vpc-v3', server, 'OpenTrafficMirrorService', {
        RegionId: 'me-east-1',
        ClientToken: 'open-1',
      });
      const b = await callVia('vpc-v1', server, 'OpenTrafficMirrorService', {
        RegionId: 'me-east-1',
        ClientToken: 'open-1',
      });
      assert.deepEqual([a.Code, b.Code, b.Message], ['200', '200', 'successful']);
      // Left out, RegionId is the default region: the same token naming that region is the same call.
      const other = await addAccount(server);
      await callVia('pop-post', other, 'OpenTrafficMirrorService', { ClientToken: 'open-2' });
      const again = await callVia('vpc-v3', other, 'OpenTrafficMirrorService', {
        RegionId: 'cn-hangzhou',
        ClientToken: 'open-2',
      });
      assert.equal(again.Code, '200');
      const g1 = await callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', {
        RegionId: 'me-central-1',
        ClientToken: 'g',
      });
      await callVia('vpc-v3', server, 'OpenTrafficMirrorService', { RegionId: 'me-central-1' });
      const g2 = await callVia('vpc-v3', server, 'GetTrafficMirrorServiceStatus', {
        RegionId: 'me-central-1',
        ClientToken: 'g',
      });
      assert.deepEqual([g1.Enabled, g2.Enabled], [false, true]);
    });

    test('the typed models read Enabled as a boolean and Code as a string', async () => {
      const client = vpcClient(server, 'v1');
      const before = await client.getTrafficMirrorServiceStatus(
        new Vpc.GetTrafficMirrorServiceStatusRequest({ regionId: 'ap-northeast-1' }),
      );
      assert.equal(before.body?.enabled, false);
      const opened = await client.openTrafficMirrorService(
        new Vpc.OpenTrafficMirrorServiceRequest({ regionId: 'ap-northeast-1' }),
      );
      assert.equal(opened.body?.code, '200');
      assert.equal(opened.body?.message, 'successful');
    });

    test('both are authorized on the resource "*"', async () => {
      const allowed = await addRamUser(server, [
        {
          Effect: 'Allow',
          Action: ['vpc:GetTrafficMirrorServiceStatus', 'vpc:OpenTrafficMirrorService'],
          Resource: '*',
        },
      ]);
      assert.equal(
        (await callVia('vpc-v3', allowed, 'GetTrafficMirrorServiceStatus', { RegionId: 'ap-northeast-2' }))
          .Enabled,
        false,
      );
      await callVia('vpc-v3', allowed, 'OpenTrafficMirrorService', { RegionId: 'ap-northeast-2' });
      const narrow = await addRamUser(server, [
        {
          Effect: 'Allow',
          Action: 'vpc:GetTrafficMirrorServiceStatus',
          Resource: 'acs:vpc:*:*:trafficmirrorsession/*',
        },
      ]);
      await expectCode(
        () => callVia('vpc-v3', narrow, 'GetTrafficMirrorServiceStatus', { RegionId: 'ap-northeast-2' }),
        'Forbidden.RAM',
      );
    });
  });
}
