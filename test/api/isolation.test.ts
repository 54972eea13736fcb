/**
 * Accounts are walls: one account's filters and sessions do not exist for another account, its
 * RAM users or its temporary credentials. Ids answer as not found, lists leave them out, and a
 * policy naming the other account's ARNs grants nothing. Set-up uses the management service;
 * every call under test goes through an official client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  attachPolicy,
  createAccessKey,
  createAccount,
  createPolicy,
  createUser,
  issueTemporaryCredentials,
} from '../../src/accounts/accounts.service.js';
import { CLIENT_MODES, type Credentials, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const REGION = 'cn-hangzhou';

for (const storeKind of testStores()) {
  describe(`account isolation [${storeKind}]`, () => {
    let server: TestServer;
    /** Account A is the server's default account; B is made here. */
    let a: Credentials;
    let b: Credentials & { accountId: string };
    let filterA: string;
    let filterB: string;
    let sessionA: string;

    async function makeFilter(creds: Credentials, name: string): Promise<string> {
      const body = await callVia('vpc-v3', creds, 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterName: name,
      });
      const id = String(body.TrafficMirrorFilterId);
      await server.advance({ resourceId: id });
      return id;
    }

    async function makeSession(creds: Credentials, filterId: string, priority: number): Promise<string> {
      const body = await callVia('vpc-v3', creds, 'CreateTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorFilterId: filterId,
        TrafficMirrorSourceIds: [`eni-iso${priority}${filterId.slice(-4)}`],
        TrafficMirrorTargetId: 'eni-isotarget',
        TrafficMirrorTargetType: 'NetworkInterface',
        Priority: priority,
      });
      const id = String(body.TrafficMirrorSessionId);
      await server.advance({ resourceId: id });
      return id;
    }

    async function filtersSeenBy(creds: Credentials, ids?: string[]): Promise<string[]> {
      const body = await callVia('vpc-v3', creds, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        MaxResults: 100,
        ...(ids ? { TrafficMirrorFilterIds: ids } : {}),
      });
      return (body.TrafficMirrorFilters as Array<{ TrafficMirrorFilterId: string }>).map(
        (f) => f.TrafficMirrorFilterId,
      );
    }

    async function sessionsSeenBy(creds: Credentials, ids?: string[]): Promise<string[]> {
      const body = await callVia('vpc-v3', creds, 'ListTrafficMirrorSessions', {
        RegionId: REGION,
        MaxResults: 100,
        ...(ids ? { TrafficMirrorSessionIds: ids } : {}),
      });
      return (body.TrafficMirrorSessions as Array<{ TrafficMirrorSessionId: string }>).map(
        (s) => s.TrafficMirrorSessionId,
      );
    }

    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      a = server;
      const now = Date.now();
      const account = await createAccount(server.store.db, { name: 'account-b' }, now);
      const key = await createAccessKey(server.store.db, { accountId: account.id }, now);
      b = {
        endpoint: server.endpoint,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
        accountId: account.id,
      };
      await callVia('vpc-v3', a, 'OpenTrafficMirrorService', { RegionId: REGION });
      await callVia('vpc-v3', b, 'OpenTrafficMirrorService', { RegionId: REGION });
      filterA = await makeFilter(a, 'filter-of-a');
      filterB = await makeFilter(b, 'filter-of-b');
      sessionA = await makeSession(a, filterA, 7);
    });
    after(() => server.close());

    for (const mode of CLIENT_MODES) {
      test(`account B's lists show none of account A's filters or sessions through ${mode}`, async () => {
        const filters = await callVia(mode, b, 'ListTrafficMirrorFilters', { RegionId: REGION });
        const filterIds = (filters.TrafficMirrorFilters as Array<{ TrafficMirrorFilterId: string }>).map(
          (f) => f.TrafficMirrorFilterId,
        );
        assert.ok(filterIds.includes(filterB));
        assert.ok(!filterIds.includes(filterA));
        const sessions = await callVia(mode, b, 'ListTrafficMirrorSessions', { RegionId: REGION });
        const sessionIds = (sessions.TrafficMirrorSessions as Array<{ TrafficMirrorSessionId: string }>).map(
          (s) => s.TrafficMirrorSessionId,
        );
        assert.ok(!sessionIds.includes(sessionA));
      });

      test(`account B deleting account A's filter is ResourceNotFound.TrafficMirrorFilter through ${mode}`, async () => {
        await expectCode(
          () =>
            callVia(mode, b, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: filterA,
            }),
          'ResourceNotFound.TrafficMirrorFilter',
        );
        assert.ok((await filtersSeenBy(a)).includes(filterA));
      });

      test(`account B deleting account A's session is ResourceNotFound.TrafficMirrorSession through ${mode}`, async () => {
        await expectCode(
          () =>
            callVia(mode, b, 'DeleteTrafficMirrorSession', {
              RegionId: REGION,
              TrafficMirrorSessionId: sessionA,
            }),
          'ResourceNotFound.TrafficMirrorSession',
        );
        assert.ok((await sessionsSeenBy(a)).includes(sessionA));
      });
    }

    test("listing account A's ids by id as account B returns nothing", async () => {
      assert.deepEqual(await filtersSeenBy(b, [filterA]), []);
      assert.deepEqual(await sessionsSeenBy(b, [sessionA]), []);
      assert.deepEqual(await filtersSeenBy(a, [filterB]), []);
    });

    test("account B renaming account A's filter is ResourceNotFound.TrafficMirrorFilter and A's name stays", async () => {
      await expectCode(
        () =>
          callVia('vpc-v3', b, 'UpdateTrafficMirrorFilterAttribute', {
            RegionId: REGION,
            TrafficMirrorFilterId: filterA,
            TrafficMirrorFilterName: 'taken-over',
          }),
        'ResourceNotFound.TrafficMirrorFilter',
      );
      const body = await callVia('vpc-v3', a, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [filterA],
      });
      const [filter] = body.TrafficMirrorFilters as Array<{ TrafficMirrorFilterName: string }>;
      assert.equal(filter?.TrafficMirrorFilterName, 'filter-of-a');
    });

    test("account B's DryRun delete of account A's filter is ResourceNotFound.TrafficMirrorFilter, not DryRunOperation", async () => {
      await expectCode(
        () =>
          callVia('vpc-v1', b, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: filterA,
            DryRun: true,
          }),
        'ResourceNotFound.TrafficMirrorFilter',
      );
    });

    test("account B creating a session on account A's filter is ResourceNotFound.TrafficMirrorFilter", async () => {
      await expectCode(
        () =>
          callVia('vpc-v3', b, 'CreateTrafficMirrorSession', {
            RegionId: REGION,
            TrafficMirrorFilterId: filterA,
            TrafficMirrorSourceIds: ['eni-isosteal'],
            TrafficMirrorTargetId: 'eni-isotarget',
            TrafficMirrorTargetType: 'NetworkInterface',
            Priority: 9,
          }),
        'ResourceNotFound.TrafficMirrorFilter',
      );
    });

    test("account B tagging account A's filter is ResourceNotFound.TrafficMirrorFilter", async () => {
      await expectCode(
        () =>
          callVia('vpc-v3', b, 'TagResources', {
            RegionId: REGION,
            ResourceType: 'TRAFFICMIRRORFILTER',
            ResourceId: [filterA],
            Tag: [{ Key: 'owner', Value: 'b' }],
          }),
        'ResourceNotFound.TrafficMirrorFilter',
      );
    });

    test('session priorities are per account: account B may use the priority account A uses', async () => {
      const session = await makeSession(b, filterB, 7);
      assert.ok((await sessionsSeenBy(b)).includes(session));
      assert.ok(!(await sessionsSeenBy(a)).includes(session));
    });

    test("a RAM user of account B with AliyunVPCFullAccess sees only account B's resources", async () => {
      const db = server.store.db;
      const now = Date.now();
      await createUser(db, { accountId: b.accountId, name: 'b-admin' }, now);
      await attachPolicy(db, {
        accountId: b.accountId,
        principal: { type: 'User', name: 'b-admin' },
        policyName: 'AliyunVPCFullAccess',
      });
      const key = await createAccessKey(db, { accountId: b.accountId, userName: 'b-admin' }, now);
      const user = {
        endpoint: server.endpoint,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
      };
      const seen = await filtersSeenBy(user);
      assert.ok(seen.includes(filterB));
      assert.ok(!seen.includes(filterA));
      await expectCode(
        () =>
          callVia('pop-post', user, 'DeleteTrafficMirrorSession', {
            RegionId: REGION,
            TrafficMirrorSessionId: sessionA,
          }),
        'ResourceNotFound.TrafficMirrorSession',
      );
    });

    test("temporary credentials of account B do not see account A's filters", async () => {
      const db = server.store.db;
      await attachPolicy(db, {
        accountId: b.accountId,
        principal: { type: 'Role', name: 'b-reader' },
        policyName: 'AliyunVPCReadOnlyAccess',
      });
      const creds = await issueTemporaryCredentials(
        db,
        { accountId: b.accountId, roleName: 'b-reader' },
        Date.now(),
      );
      const seen = await filtersSeenBy({ ...creds, endpoint: server.endpoint });
      assert.ok(seen.includes(filterB));
      assert.ok(!seen.includes(filterA));
    });

    test("a policy in account B naming account A's filter ARNs grants nothing there: Forbidden.RAM", async () => {
      const db = server.store.db;
      const now = Date.now();
      await createUser(db, { accountId: b.accountId, name: 'b-cross' }, now);
      await createPolicy(
        db,
        {
          accountId: b.accountId,
          name: 'cross-account',
          document: {
            Version: '1',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'vpc:*',
                Resource: `acs:vpc:*:${server.accountId}:trafficmirrorfilter/*`,
              },
            ],
          },
        },
        now,
      );
      await attachPolicy(db, {
        accountId: b.accountId,
        principal: { type: 'User', name: 'b-cross' },
        policyName: 'cross-account',
      });
      const key = await createAccessKey(db, { accountId: b.accountId, userName: 'b-cross' }, now);
      const user = {
        endpoint: server.endpoint,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
      };
      const err = await expectCode(
        () =>
          callVia('vpc-v3', user, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: filterA,
          }),
        'Forbidden.RAM',
      );
      const detail = err.accessDeniedDetail as Record<string, unknown>;
      assert.equal(detail.AuthPrincipalOwnerId, b.accountId);
      assert.equal(detail.NoPermissionType, 'ImplicitDeny');
      assert.ok((await filtersSeenBy(a)).includes(filterA));
    });
  });
}
