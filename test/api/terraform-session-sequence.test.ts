/**
 * The call sequence of Terraform's alicloud_vpc_traffic_mirror_session (spec clients.md 3.1),
 * replayed with the official clients: create, poll by TrafficMirrorSessionIds.1 until Created,
 * update re-sending unchanged fields, remove all sources then add all, tag, move resource group,
 * delete and poll until the session is absent. Terraform speaks V1 with a form body (pop-core
 * POST is the same wire form); the V3 SDK runs the same sequence. A fresh ClientToken per call,
 * as Terraform builds one inside every retry.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type CaptureServer,
  captureCall,
  expectSuccess,
  paramsOf,
  queryOf,
  type RawRequest,
  replay,
  startCapture,
  withBodyParam,
  withQueryParam,
} from '../helpers/capture.js';
import { type ClientMode, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';
import { makeFilter, REGION, type Session } from './session-fixtures.js';

/** The parameters tea-rpc (the provider's wire client) puts in the query; the rest go in the body. */
const TEA_RPC_QUERY = [
  'Action',
  'Format',
  'Version',
  'Timestamp',
  'SignatureNonce',
  'SignatureMethod',
  'SignatureVersion',
  'AccessKeyId',
  'Signature',
];

/**
 * A pop-core form POST rearranged into tea-rpc's shape (clients.md, Terraform): system parameters
 * in the query, the call's own in the form body, one V1 signature over both. The signature stays
 * valid: V1 signs the parameters, wherever they travel.
 */
function asTeaRpc(r: RawRequest): RawRequest {
  const params = paramsOf(r);
  let out = r;
  for (const name of TEA_RPC_QUERY) {
    const value = params.get(name);
    assert.ok(value !== undefined, `pop-core sent ${name}`);
    out = withQueryParam(withBodyParam(out, name, undefined), name, value);
  }
  return out;
}

for (const storeKind of testStores()) {
  describe(`Terraform's traffic mirror session sequence [${storeKind}]`, () => {
    let server: TestServer;
    let cap: CaptureServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      cap = await startCapture();
    });
    after(async () => {
      await cap?.close();
      await server.close();
    });

    test("tea-rpc's wire shape (system parameters in the query, the call's in a form body, one V1 signature) creates, reads and deletes a session", async () => {
      const keys = { accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
      const send = async (action: string, params: Record<string, unknown>) => {
        const r = asTeaRpc(
          await captureCall(cap, 'pop-post', keys, action, {
            RegionId: REGION,
            ClientToken: randomUUID(),
            ...params,
          }),
        );
        assert.match(queryOf(r), /(^|&)Signature=/);
        assert.doesNotMatch(r.body.toString('latin1'), /(^|&)(Signature|AccessKeyId|Action)=/);
        assert.match(r.body.toString('latin1'), /(^|&)RegionId=/);
        return expectSuccess(await replay(server.port, r));
      };
      const filter = await makeFilter(server);
      const created = await send('CreateTrafficMirrorSession', {
        TrafficMirrorSourceIds: ['eni-tearpc1', 'eni-tearpc2'],
        TrafficMirrorTargetId: 'eni-tearpctarget',
        TrafficMirrorTargetType: 'NetworkInterface',
        TrafficMirrorFilterId: filter,
        Priority: 9,
        Enabled: true,
      });
      const id = String(created.TrafficMirrorSessionId);
      assert.match(id, /^tms-/);
      const listed = await send('ListTrafficMirrorSessions', { 'TrafficMirrorSessionIds.1': id });
      const [session] = listed.TrafficMirrorSessions as Session[];
      assert.deepEqual(session?.TrafficMirrorSourceIds, ['eni-tearpc1', 'eni-tearpc2']);
      assert.equal(session?.Enabled, true);
      await server.advance({ resourceId: id });
      await send('DeleteTrafficMirrorSession', { TrafficMirrorSessionId: id });
      await server.advance({ resourceId: id });
      const gone = await send('ListTrafficMirrorSessions', { 'TrafficMirrorSessionIds.1': id });
      assert.deepEqual(gone.TrafficMirrorSessions, []);
    });

    for (const mode of ['pop-post', 'vpc-v3'] as const satisfies readonly ClientMode[]) {
      test(`the whole resource life cycle as Terraform calls it succeeds through ${mode}`, async () => {
        const call = (action: string, params: Record<string, unknown>) =>
          callVia(mode, server, action, { RegionId: REGION, ClientToken: randomUUID(), ...params });

        /** DescribeVpcTrafficMirrorSession: the List by one id; undefined when absent. */
        const read = async (id: string): Promise<Session | undefined> => {
          const body = await call('ListTrafficMirrorSessions', { 'TrafficMirrorSessionIds.1': id });
          const list = body.TrafficMirrorSessions as Session[];
          assert.ok(Array.isArray(list));
          return list[0];
        };

        /**
         * Terraform's StateRefreshFunc loop: poll until the target; every other status keeps it
         * polling. Time passing is an advance of the pending transition; the transient status
         * must have been visible first.
         */
        const waitFor = async (id: string, target: 'Created' | 'absent', transient: string) => {
          const seen: string[] = [];
          for (let i = 0; i < 5; i++) {
            const s = await read(id);
            const status = s === undefined ? 'absent' : String(s.TrafficMirrorSessionStatus);
            assert.equal(typeof status, 'string');
            seen.push(status);
            if (status === target) break;
            await server.advance({ resourceId: id });
          }
          assert.deepEqual(seen, [transient, target]);
        };

        const filter = await makeFilter(server, { mode });
        const sources = ['eni-tf1', 'eni-tf2'];
        const created = await call('CreateTrafficMirrorSession', {
          TrafficMirrorSessionName: `tf-${mode}`,
          TrafficMirrorSessionDescription: 'managed by terraform',
          TrafficMirrorTargetId: 'eni-tftarget',
          TrafficMirrorTargetType: 'NetworkInterface',
          TrafficMirrorFilterId: filter,
          VirtualNetworkId: 10,
          Priority: mode === 'pop-post' ? 1 : 2,
          Enabled: false,
          PacketLength: 1500,
          'TrafficMirrorSourceIds.1': sources[0],
          'TrafficMirrorSourceIds.2': sources[1],
          DryRun: false,
        });
        const id = String(created.TrafficMirrorSessionId);
        await waitFor(id, 'Created', 'Creating');

        // Update: always re-sends target, type, filter and priority; Enabled only when changed.
        const unchanged = {
          TrafficMirrorSessionId: id,
          TrafficMirrorTargetId: 'eni-tftarget',
          TrafficMirrorTargetType: 'NetworkInterface',
          TrafficMirrorFilterId: filter,
          Priority: mode === 'pop-post' ? 1 : 2,
        };
        await call('UpdateTrafficMirrorSessionAttribute', {
          ...unchanged,
          TrafficMirrorSessionName: 'tf-renamed',
        });
        // A retry arriving while Modifying gets the code Terraform retries.
        await expectCode(
          () => call('UpdateTrafficMirrorSessionAttribute', { ...unchanged, Enabled: true }),
          'IncorrectStatus.TrafficMirrorSession',
        );
        await waitFor(id, 'Created', 'Modifying');
        await call('UpdateTrafficMirrorSessionAttribute', { ...unchanged, Enabled: true });
        await waitFor(id, 'Created', 'Modifying');

        // Sources: the whole old list out, then the whole new list in, each followed by a wait.
        await call('RemoveSourcesFromTrafficMirrorSession', {
          TrafficMirrorSessionId: id,
          'TrafficMirrorSourceIds.1': sources[0],
          'TrafficMirrorSourceIds.2': sources[1],
        });
        await waitFor(id, 'Created', 'Modifying');
        assert.deepEqual((await read(id))?.TrafficMirrorSourceIds, []);
        const newSources = ['eni-tf2', 'eni-tf3', 'eni-tf1'];
        await call('AddSourcesToTrafficMirrorSession', {
          TrafficMirrorSessionId: id,
          TrafficMirrorSourceIds: newSources,
        });
        await waitFor(id, 'Created', 'Modifying');

        // Tags and resource group, with the ResourceType spelling Terraform sends.
        await call('UnTagResources', {
          ResourceType: 'TrafficMirrorSession',
          'ResourceId.1': id,
          'TagKey.1': 'old',
        });
        await call('TagResources', {
          ResourceType: 'TrafficMirrorSession',
          'ResourceId.1': id,
          'Tag.1.Key': 'Created',
          'Tag.1.Value': 'TF',
          'Tag.2.Key': 'For',
          'Tag.2.Value': 'Test',
        });
        await call('MoveResourceGroup', {
          ResourceType: 'TrafficMirrorSession',
          ResourceId: id,
          NewResourceGroupId: 'rg-tfmoved1',
        });

        const s = await read(id);
        assert.ok(s);
        assert.deepEqual(
          {
            Enabled: s.Enabled,
            PacketLength: s.PacketLength,
            Priority: s.Priority,
            ResourceGroupId: s.ResourceGroupId,
            TrafficMirrorSessionStatus: s.TrafficMirrorSessionStatus,
            TrafficMirrorFilterId: s.TrafficMirrorFilterId,
            TrafficMirrorSessionDescription: s.TrafficMirrorSessionDescription,
            TrafficMirrorSessionName: s.TrafficMirrorSessionName,
            TrafficMirrorTargetId: s.TrafficMirrorTargetId,
            TrafficMirrorTargetType: s.TrafficMirrorTargetType,
            VirtualNetworkId: s.VirtualNetworkId,
            Tags: s.Tags,
            TrafficMirrorSourceIds: s.TrafficMirrorSourceIds,
          },
          {
            Enabled: true,
            PacketLength: 1500,
            Priority: mode === 'pop-post' ? 1 : 2,
            ResourceGroupId: 'rg-tfmoved1',
            TrafficMirrorSessionStatus: 'Created',
            TrafficMirrorFilterId: filter,
            TrafficMirrorSessionDescription: 'managed by terraform',
            TrafficMirrorSessionName: 'tf-renamed',
            TrafficMirrorTargetId: 'eni-tftarget',
            TrafficMirrorTargetType: 'NetworkInterface',
            VirtualNetworkId: 10,
            Tags: [
              { Key: 'Created', Value: 'TF' },
              { Key: 'For', Value: 'Test' },
            ],
            TrafficMirrorSourceIds: newSources,
          },
        );

        // The data source's filters find it too.
        const ds = await call('ListTrafficMirrorSessions', {
          MaxResults: 50,
          Enabled: true,
          Priority: s.Priority,
          TrafficMirrorFilterId: filter,
          TrafficMirrorSessionName: 'tf-renamed',
          TrafficMirrorSourceId: 'eni-tf3',
          TrafficMirrorTargetId: 'eni-tftarget',
        });
        assert.deepEqual(
          (ds.TrafficMirrorSessions as Session[]).map((x) => x.TrafficMirrorSessionId),
          [id],
        );
        assert.equal(ds.NextToken, '');

        // Delete, then poll until the List no longer returns it.
        await expectCode(
          () => call('DeleteTrafficMirrorSession', { TrafficMirrorSessionId: id, DryRun: true }),
          'DryRunOperation',
        );
        await call('DeleteTrafficMirrorSession', { TrafficMirrorSessionId: id });
        await waitFor(id, 'absent', 'Deleting');
        // A repeated destroy sees the code Terraform treats as "already gone".
        await expectCode(
          () => call('DeleteTrafficMirrorSession', { TrafficMirrorSessionId: id }),
          'ResourceNotFound.TrafficMirrorSession',
        );
      });
    }
  });
}
