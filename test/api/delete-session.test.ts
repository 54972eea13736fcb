/**
 * DeleteTrafficMirrorSession against the seed document (/work/shared/seed), point by point:
 * parameters, the asynchronous Deleting state, the three documented errors with their exact
 * messages, DryRun, ClientToken and the RAM resource name. Through every official client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLIENT_MODES, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';
import {
  addAccount,
  addRamUser,
  deleteCall,
  getSession,
  httpStatusOf,
  makeFilter,
  makeSession,
  REGION,
  statusOf,
} from './session-fixtures.js';

const NOT_FOUND = 'The specified resource of traffic mirror session is not found.';
const SESSION_STATUS = 'The status of traffic mirror session is incorrect.';
const FILTER_STATUS = 'The status of traffic mirror filter is incorrect.';
const DRY_RUN = 'Request validation has been passed with DryRun flag set.';

for (const storeKind of testStores()) {
  describe(`DeleteTrafficMirrorSession as the seed documents it [${storeKind}]`, () => {
    let server: TestServer;
    let filter: string;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      filter = await makeFilter(server);
    });
    after(() => server.close());

    /**
     * Deletes the session with this ClientToken, which learns the record of exactly this request,
     * and returns what rewrites that record as a first call still running (or dead) leaves it:
     * processing, lease running, claimed by `owner`.
     */
    async function tokenLeftProcessing(id: string, token: string) {
      await deleteCall(server, id, { ClientToken: token });
      const done = await server.store.db
        .selectFrom('client_tokens')
        .selectAll()
        .where('client_token', '=', token)
        .executeTakeFirstOrThrow();
      return async (owner: string | null) => {
        await server.store.db.deleteFrom('client_tokens').where('client_token', '=', token).execute();
        await server.store.db
          .insertInto('client_tokens')
          .values({ ...done, state: 'processing', response: null, lease_until: Date.now() + 60_000, owner })
          .execute();
      };
    }

    async function pending(id: string): Promise<number> {
      const rows = await server.store.db
        .selectFrom('transitions')
        .select('resource_id')
        .where('resource_id', '=', id)
        .execute();
      return rows.length;
    }

    describe('request and response', () => {
      for (const mode of CLIENT_MODES) {
        test(`Delete answers only a RequestId, the session lists as Deleting, then it is gone, through ${mode}`, async () => {
          const id = await makeSession(server, filter, {}, { mode });
          const body = await deleteCall(server, id, {}, { mode });
          assert.deepEqual(Object.keys(body), ['RequestId']);
          assert.match(
            String(body.RequestId),
            /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/,
          );
          assert.equal(await statusOf(server, id, { mode }), 'Deleting');
          assert.equal(await server.advance({ resourceId: id }), 1);
          assert.equal(await getSession(server, id, { mode }), undefined);
        });
      }

      test('Delete without TrafficMirrorSessionId is MissingTrafficMirrorSessionId', async () => {
        await expectCode(
          () => callVia('vpc-v3', server, 'DeleteTrafficMirrorSession', { RegionId: REGION }),
          'MissingTrafficMirrorSessionId',
        );
        // Before the region is looked up: a missing parameter comes first (protocol.md 4, step 11).
        await expectCode(
          () => callVia('pop-get', server, 'DeleteTrafficMirrorSession', { RegionId: 'xx-nowhere-1' }),
          'MissingTrafficMirrorSessionId',
        );
      });

      test('Delete without RegionId is MissingRegionId and an unknown region is InvalidRegionId.NotFound', async () => {
        const id = await makeSession(server, filter);
        await expectCode(
          () => callVia('pop-get', server, 'DeleteTrafficMirrorSession', { TrafficMirrorSessionId: id }),
          'MissingRegionId',
        );
        await expectCode(
          () => deleteCall(server, id, {}, { regionId: 'xx-nowhere-1' }),
          'InvalidRegionId.NotFound',
        );
        assert.equal(await statusOf(server, id), 'Created');
      });

      test('Delete with a ClientToken of 64 ASCII characters succeeds; 65 characters or non-ASCII is InvalidParameter', async () => {
        const a = await makeSession(server, filter);
        await expectCode(() => deleteCall(server, a, { ClientToken: 'x'.repeat(65) }), 'InvalidParameter');
        await expectCode(
          () => deleteCall(server, a, { ClientToken: 'tökén' }, { mode: 'pop-post' }),
          'InvalidParameter',
        );
        assert.equal(await statusOf(server, a), 'Created');
        await deleteCall(server, a, { ClientToken: 'x'.repeat(64) });
        assert.equal(await statusOf(server, a), 'Deleting');
      });

      test('Delete accepts and ignores the hidden owner parameters', async () => {
        const id = await makeSession(server, filter);
        await deleteCall(server, id, {
          OwnerId: 123,
          OwnerAccount: 'o',
          ResourceOwnerId: 456,
          ResourceOwnerAccount: 'r',
        });
        assert.equal(await statusOf(server, id), 'Deleting');
      });
    });

    describe('IncorrectStatus.TrafficMirrorSession', () => {
      for (const mode of CLIENT_MODES) {
        test(`a second Delete while Deleting is 400 IncorrectStatus.TrafficMirrorSession with the seed's message through ${mode}`, async () => {
          const id = await makeSession(server, filter);
          await deleteCall(server, id, {}, { mode });
          const err = await expectCode(
            () => deleteCall(server, id, {}, { mode }),
            'IncorrectStatus.TrafficMirrorSession',
          );
          assert.equal(httpStatusOf(err), 400);
          assert.ok(String(err.message).includes(SESSION_STATUS), String(err.message));
          assert.equal(await statusOf(server, id), 'Deleting');
        });
      }

      test('Delete while Creating is IncorrectStatus.TrafficMirrorSession and works once Created', async () => {
        const id = await makeSession(server, filter, {}, { ready: false });
        assert.equal(await statusOf(server, id), 'Creating');
        await expectCode(() => deleteCall(server, id), 'IncorrectStatus.TrafficMirrorSession');
        assert.equal(await statusOf(server, id), 'Creating');
        await server.advance({ resourceId: id });
        await deleteCall(server, id);
        assert.equal(await statusOf(server, id), 'Deleting');
      });

      test('Delete while Modifying (after Update, AddSources or RemoveSources) is IncorrectStatus.TrafficMirrorSession', async () => {
        const id = await makeSession(server, filter);
        const changes: Array<[string, Record<string, unknown>]> = [
          ['UpdateTrafficMirrorSessionAttribute', { Enabled: true }],
          ['AddSourcesToTrafficMirrorSession', { TrafficMirrorSourceIds: ['eni-modifying1'] }],
          ['RemoveSourcesFromTrafficMirrorSession', { TrafficMirrorSourceIds: ['eni-modifying1'] }],
        ];
        for (const [action, params] of changes) {
          await callVia('vpc-v1', server, action, {
            RegionId: REGION,
            TrafficMirrorSessionId: id,
            ...params,
          });
          assert.equal(await statusOf(server, id), 'Modifying', action);
          await expectCode(() => deleteCall(server, id), 'IncorrectStatus.TrafficMirrorSession');
          await server.advance({ resourceId: id });
          assert.equal(await statusOf(server, id), 'Created');
        }
      });
    });

    describe('IncorrectStatus.TrafficMirrorFilter', () => {
      test("Delete while a rule of the session's filter is being created is 400 IncorrectStatus.TrafficMirrorFilter with the seed's message", async () => {
        const f = await makeFilter(server);
        const id = await makeSession(server, f);
        const rules = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', {
          RegionId: REGION,
          TrafficMirrorFilterId: f,
          IngressRules: [{ Action: 'accept', Protocol: 'ALL', Priority: 1 }],
        });
        for (const mode of CLIENT_MODES) {
          const err = await expectCode(
            () => deleteCall(server, id, {}, { mode }),
            'IncorrectStatus.TrafficMirrorFilter',
          );
          assert.equal(httpStatusOf(err), 400);
          assert.ok(String(err.message).includes(FILTER_STATUS), String(err.message));
        }
        assert.equal(await statusOf(server, id), 'Created');
        const ruleId = String((rules.IngressRules as Array<Record<string, unknown>>)[0]?.InstanceId);
        await server.advance({ resourceId: ruleId });
        await deleteCall(server, id);
        assert.equal(await statusOf(server, id), 'Deleting');
      });

      test("Delete while a rule of the session's filter is being changed is IncorrectStatus.TrafficMirrorFilter", async () => {
        const f = await makeFilter(server);
        const rules = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', {
          RegionId: REGION,
          TrafficMirrorFilterId: f,
          EgressRules: [{ Action: 'accept', Protocol: 'ALL', Priority: 1 }],
        });
        const ruleId = String((rules.EgressRules as Array<Record<string, unknown>>)[0]?.InstanceId);
        await server.advance({ resourceId: ruleId });
        const id = await makeSession(server, f);
        await callVia('vpc-v3', server, 'UpdateTrafficMirrorFilterRuleAttribute', {
          RegionId: REGION,
          TrafficMirrorFilterRuleId: ruleId,
          RuleAction: 'drop',
        });
        await expectCode(() => deleteCall(server, id), 'IncorrectStatus.TrafficMirrorFilter');
        await server.advance({ resourceId: ruleId });
        await deleteCall(server, id);
        assert.equal(await statusOf(server, id), 'Deleting');
      });
    });

    describe('ResourceNotFound.TrafficMirrorSession', () => {
      for (const mode of CLIENT_MODES) {
        test(`Delete of an unknown id is 400 ResourceNotFound.TrafficMirrorSession with the seed's message through ${mode}`, async () => {
          const err = await expectCode(
            () => deleteCall(server, 'tms-doesnotexist0000000', {}, { mode }),
            'ResourceNotFound.TrafficMirrorSession',
          );
          assert.equal(httpStatusOf(err), 400);
          assert.ok(String(err.message).includes(NOT_FOUND), String(err.message));
        });
      }

      test('Delete of a session that is gone is ResourceNotFound.TrafficMirrorSession', async () => {
        const id = await makeSession(server, filter);
        await deleteCall(server, id);
        await server.advance({ resourceId: id });
        await expectCode(() => deleteCall(server, id), 'ResourceNotFound.TrafficMirrorSession');
      });

      test('Delete of a session of another region is ResourceNotFound.TrafficMirrorSession and leaves it', async () => {
        const f = await makeFilter(server, { regionId: 'cn-shanghai' });
        const id = await makeSession(server, f, {}, { regionId: 'cn-shanghai' });
        await expectCode(() => deleteCall(server, id), 'ResourceNotFound.TrafficMirrorSession');
        assert.equal(await statusOf(server, id, { regionId: 'cn-shanghai' }), 'Created');
        await deleteCall(server, id, {}, { regionId: 'cn-shanghai' });
        assert.equal(await statusOf(server, id, { regionId: 'cn-shanghai' }), 'Deleting');
      });

      test('Delete of a session of another account is ResourceNotFound.TrafficMirrorSession and leaves it', async () => {
        const other = await addAccount(server);
        const f = await makeFilter(server, { creds: other });
        const id = await makeSession(server, f, {}, { creds: other });
        for (const mode of CLIENT_MODES) {
          await expectCode(
            () => deleteCall(server, id, {}, { mode }),
            'ResourceNotFound.TrafficMirrorSession',
          );
        }
        assert.equal(await statusOf(server, id, { creds: other }), 'Created');
        assert.equal(await getSession(server, id), undefined);
      });
    });

    describe('DryRun', () => {
      for (const mode of CLIENT_MODES) {
        test(`DryRun=true with every check passing is 400 DryRunOperation and changes nothing through ${mode}`, async () => {
          const id = await makeSession(server, filter);
          const err = await expectCode(
            () => deleteCall(server, id, { DryRun: true }, { mode }),
            'DryRunOperation',
          );
          assert.equal(httpStatusOf(err), 400);
          assert.ok(String(err.message).includes(DRY_RUN), String(err.message));
          assert.equal(await statusOf(server, id), 'Created');
          assert.equal(await pending(id), 0);
        });
      }

      test('DryRun=false deletes as usual', async () => {
        const id = await makeSession(server, filter);
        await deleteCall(server, id, { DryRun: false });
        assert.equal(await statusOf(server, id), 'Deleting');
      });

      test('DryRun answers the failing check: missing parameter, unknown session, wrong status, busy filter', async () => {
        await expectCode(
          () => callVia('vpc-v3', server, 'DeleteTrafficMirrorSession', { RegionId: REGION, DryRun: true }),
          'MissingTrafficMirrorSessionId',
        );
        await expectCode(
          () => deleteCall(server, 'tms-doesnotexist0000000', { DryRun: true }),
          'ResourceNotFound.TrafficMirrorSession',
        );
        const creating = await makeSession(server, filter, {}, { ready: false });
        await expectCode(
          () => deleteCall(server, creating, { DryRun: true }),
          'IncorrectStatus.TrafficMirrorSession',
        );
        const f = await makeFilter(server);
        const id = await makeSession(server, f);
        await callVia('vpc-v3', server, 'CreateTrafficMirrorFilterRules', {
          RegionId: REGION,
          TrafficMirrorFilterId: f,
          IngressRules: [{ Action: 'drop', Protocol: 'ICMP', Priority: 2 }],
        });
        await expectCode(
          () => deleteCall(server, id, { DryRun: true }),
          'IncorrectStatus.TrafficMirrorFilter',
        );
        assert.equal(await statusOf(server, id), 'Created');
      });

      test('DryRun by a RAM user without permission is Forbidden.RAM', async () => {
        const id = await makeSession(server, filter);
        const user = await addRamUser(server, [
          { Effect: 'Allow', Action: 'vpc:ListTrafficMirrorSessions', Resource: '*' },
        ]);
        await expectCode(() => deleteCall(server, id, { DryRun: true }, { creds: user }), 'Forbidden.RAM');
        assert.equal(await statusOf(server, id), 'Created');
      });

      test('DryRun does not consume the ClientToken: the same token then really deletes', async () => {
        const id = await makeSession(server, filter);
        await expectCode(
          () => deleteCall(server, id, { DryRun: true, ClientToken: 'dry-then-real' }),
          'DryRunOperation',
        );
        await deleteCall(server, id, { ClientToken: 'dry-then-real' });
        assert.equal(await statusOf(server, id), 'Deleting');
      });
    });

    describe('ClientToken', () => {
      for (const mode of CLIENT_MODES) {
        test(`the same ClientToken and parameters again succeed without a second deletion, also once the session is gone, through ${mode}`, async () => {
          const id = await makeSession(server, filter);
          const token = `tok-${mode}-${id}`;
          const first = await deleteCall(server, id, { ClientToken: token }, { mode });
          // A real second delete would be IncorrectStatus.TrafficMirrorSession here.
          const again = await deleteCall(server, id, { ClientToken: token }, { mode });
          assert.deepEqual(Object.keys(again), ['RequestId']);
          assert.notEqual(again.RequestId, first.RequestId);
          assert.equal(await statusOf(server, id), 'Deleting');
          assert.equal(await pending(id), 1);
          await server.advance({ resourceId: id });
          const afterGone = await deleteCall(server, id, { ClientToken: token }, { mode });
          assert.deepEqual(Object.keys(afterGone), ['RequestId']);
          assert.equal(await getSession(server, id), undefined);
        });
      }

      test('the same ClientToken with other parameters is IdempotentParameterMismatch and deletes nothing', async () => {
        const a = await makeSession(server, filter);
        const b = await makeSession(server, filter);
        await deleteCall(server, a, { ClientToken: 'mismatch-1' });
        await expectCode(
          () => deleteCall(server, b, { ClientToken: 'mismatch-1' }),
          'IdempotentParameterMismatch',
        );
        await expectCode(
          () => deleteCall(server, b, { ClientToken: 'mismatch-1' }, { mode: 'pop-post' }),
          'IdempotentParameterMismatch',
        );
        assert.equal(await statusOf(server, b), 'Created');
      });

      test('a ClientToken whose first call is still executing is OperationFailed.LastTokenProcessing', async () => {
        const id = await makeSession(server, filter);
        // Owned by no node, as a completed record is: only its lease holds it.
        await (await tokenLeftProcessing(id, 'in-flight'))(null);
        for (const mode of CLIENT_MODES) {
          await expectCode(
            () => deleteCall(server, id, { ClientToken: 'in-flight' }, { mode }),
            'OperationFailed.LastTokenProcessing',
          );
        }
        assert.equal(await statusOf(server, id), 'Deleting');
        assert.equal(await pending(id), 1);
      });

      test("a claim this node left processing with no request running (a failed release) is taken over by the retry; another node's is not", async () => {
        const id = await makeSession(server, filter);
        const leaveClaim = await tokenLeftProcessing(id, 'left-behind');
        // As a request of this node leaves it when the store fails under it and the release fails too.
        await leaveClaim(server.app.nodeId);
        // The retry runs at once, and meets the session's state since the first call.
        await expectCode(
          () => deleteCall(server, id, { ClientToken: 'left-behind' }),
          'IncorrectStatus.TrafficMirrorSession',
        );
        // A claim of another node may belong to a request still running there: it holds until its lease ends.
        await leaveClaim('node-elsewhere');
        await expectCode(
          () => deleteCall(server, id, { ClientToken: 'left-behind' }),
          'OperationFailed.LastTokenProcessing',
        );
      });

      test('a failed first call frees its ClientToken: the retry executes', async () => {
        const id = await makeSession(server, filter, {}, { ready: false });
        await expectCode(
          () => deleteCall(server, id, { ClientToken: 'retry-after-failure' }),
          'IncorrectStatus.TrafficMirrorSession',
        );
        await server.advance({ resourceId: id });
        await deleteCall(server, id, { ClientToken: 'retry-after-failure' });
        assert.equal(await statusOf(server, id), 'Deleting');
      });
    });

    describe('RAM resource acs:vpc:{regionId}:{accountId}:trafficmirrorsession/{TrafficMirrorSessionId}', () => {
      test('a RAM user allowed on one session ARN deletes that session and gets Forbidden.RAM for another', async () => {
        const a = await makeSession(server, filter);
        const b = await makeSession(server, filter);
        const user = await addRamUser(server, [
          {
            Effect: 'Allow',
            Action: 'vpc:DeleteTrafficMirrorSession',
            Resource: `acs:vpc:${REGION}:${server.accountId}:trafficmirrorsession/${a}`,
          },
        ]);
        for (const mode of CLIENT_MODES) {
          const err = await expectCode(
            () => deleteCall(server, b, {}, { mode, creds: user }),
            'Forbidden.RAM',
          );
          assert.equal(httpStatusOf(err), 403);
        }
        await deleteCall(server, a, {}, { creds: user });
        assert.equal(await statusOf(server, a), 'Deleting');
        assert.equal(await statusOf(server, b), 'Created');
      });

      test('a policy for the same session id in another region does not allow the delete', async () => {
        const id = await makeSession(server, filter);
        const user = await addRamUser(server, [
          {
            Effect: 'Allow',
            Action: 'vpc:DeleteTrafficMirrorSession',
            Resource: `acs:vpc:cn-shanghai:${server.accountId}:trafficmirrorsession/${id}`,
          },
        ]);
        await expectCode(() => deleteCall(server, id, {}, { creds: user }), 'Forbidden.RAM');
      });

      test('an explicit Deny on the session ARN wins over an Allow on every session', async () => {
        const id = await makeSession(server, filter);
        const user = await addRamUser(server, [
          { Effect: 'Allow', Action: 'vpc:*', Resource: '*' },
          {
            Effect: 'Deny',
            Action: 'vpc:DeleteTrafficMirrorSession',
            Resource: `acs:vpc:*:*:trafficmirrorsession/${id}`,
          },
        ]);
        await expectCode(() => deleteCall(server, id, {}, { creds: user }), 'Forbidden.RAM');
        const other = await makeSession(server, filter);
        await deleteCall(server, other, {}, { creds: user });
        assert.equal(await statusOf(server, other), 'Deleting');
      });
    });

    test('a deleted session takes its sources and tags with it', async () => {
      const id = await makeSession(server, filter, {
        TrafficMirrorSourceIds: ['eni-goeswith1', 'eni-goeswith2'],
        Tag: [{ Key: 'team', Value: 'net' }],
      });
      await deleteCall(server, id);
      await server.advance({ resourceId: id });
      const tags = await callVia('vpc-v3', server, 'ListTagResources', {
        RegionId: REGION,
        ResourceType: 'TRAFFICMIRRORSESSION',
        ResourceId: [id],
      });
      assert.deepEqual(tags.TagResources, { TagResource: [] });
      const bySource = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
        RegionId: REGION,
        TrafficMirrorSourceId: 'eni-goeswith1',
      });
      assert.deepEqual(bySource.TrafficMirrorSessions, []);
      const rows = await server.store.db
        .selectFrom('traffic_mirror_session_sources')
        .select('source_id')
        .where('session_id', '=', id)
        .execute();
      assert.deepEqual(rows, []);
    });
  });
}
