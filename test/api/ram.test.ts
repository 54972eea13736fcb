/**
 * RAM through the official clients: RAM users and temporary credentials are allowed exactly what
 * their policies say (system and custom, resource ARNs, explicit Deny, conditions, session
 * policies), every credential problem has its own code, and `--no-ram` switches it all off.
 * Principals are set up with the management service against the server's store, the way the
 * `vpcmirror user|key|sts|policy` commands do it; every call under test goes through a client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  addUserToGroup,
  attachPolicy,
  createAccessKey,
  createAccount,
  createGroup,
  createPolicy,
  createUser,
  detachPolicy,
  issueTemporaryCredentials,
  removeUserFromGroup,
  setAccessKeyEnabled,
  type TemporaryCredentials,
} from '../../src/accounts/accounts.service.js';
import { CLIENT_MODES, type Credentials, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const REGION = 'cn-hangzhou';
const FORBIDDEN_MESSAGE =
  "User not authorized to operate on the specified resource, or this API doesn't support RAM.";

type PolicyGrant = { system: string } | { custom: Record<string, unknown> };

let names = 0;
function uniqueName(prefix: string): string {
  names += 1;
  return `${prefix}${process.pid}n${names}`;
}

/** The HTTP status of an error from either client family. */
function httpStatusOf(err: Record<string, unknown>): number | undefined {
  if (typeof err.statusCode === 'number') return err.statusCode;
  const entry = err.entry as { response?: { statusCode?: number } } | undefined;
  return entry?.response?.statusCode;
}

/** AccessDeniedDetail as each client family exposes it. */
function deniedDetailOf(err: Record<string, unknown>): Record<string, unknown> {
  const fromSdk = err.accessDeniedDetail;
  if (fromSdk && typeof fromSdk === 'object') return fromSdk as Record<string, unknown>;
  const data = err.data as Record<string, unknown> | undefined;
  return (data?.AccessDeniedDetail ?? {}) as Record<string, unknown>;
}

type Effect = 'Allow' | 'Deny';

function statement(
  effect: Effect,
  action: string | string[],
  resource: string | string[],
  condition?: unknown,
) {
  return {
    Effect: effect,
    Action: action,
    Resource: resource,
    ...(condition ? { Condition: condition } : {}),
  };
}

/** A policy of one statement. */
function allow(action: string | string[], resource: string | string[] = '*', condition?: unknown) {
  return { Version: '1', Statement: [statement('Allow', action, resource, condition)] };
}

function deny(action: string | string[], resource: string | string[] = '*', condition?: unknown) {
  return { Version: '1', Statement: [statement('Deny', action, resource, condition)] };
}

for (const storeKind of testStores()) {
  describe(`RAM authorization through the official clients [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      // Sessions need the service opened in their region.
      await callVia('vpc-v3', server, 'OpenTrafficMirrorService', { RegionId: REGION });
    });
    after(() => server.close());

    /** A RAM user of the account (the server's by default) holding the given policies, with one AccessKey. */
    async function ramUser(
      grants: readonly PolicyGrant[],
      accountId = server.accountId,
    ): Promise<Credentials & { userName: string }> {
      const db = server.store.db;
      const now = Date.now();
      const userName = uniqueName('user');
      await createUser(db, { accountId, name: userName }, now);
      for (const [i, grant] of grants.entries()) {
        let policyName: string;
        if ('system' in grant) {
          policyName = grant.system;
        } else {
          policyName = `${userName}-p${i}`;
          await createPolicy(db, { accountId, name: policyName, document: grant.custom }, now);
        }
        await attachPolicy(db, {
          accountId,
          principal: { type: 'User', name: userName },
          policyName,
        });
      }
      const key = await createAccessKey(db, { accountId, userName }, now);
      return {
        endpoint: server.endpoint,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
        userName,
      };
    }

    /** Temporary credentials for a role holding the given system policies (and custom ones). */
    async function roleCredentials(
      systemPolicies: readonly string[],
      options: { sessionPolicy?: unknown; now?: number; durationSeconds?: number; custom?: unknown[] } = {},
    ): Promise<TemporaryCredentials & Credentials> {
      const db = server.store.db;
      const roleName = uniqueName('role');
      for (const policyName of systemPolicies) {
        await attachPolicy(db, {
          accountId: server.accountId,
          principal: { type: 'Role', name: roleName },
          policyName,
          policyType: 'System',
        });
      }
      for (const [i, document] of (options.custom ?? []).entries()) {
        const policyName = `${roleName}-p${i}`;
        await createPolicy(db, { accountId: server.accountId, name: policyName, document }, Date.now());
        await attachPolicy(db, {
          accountId: server.accountId,
          principal: { type: 'Role', name: roleName },
          policyName,
        });
      }
      const creds = await issueTemporaryCredentials(
        db,
        {
          accountId: server.accountId,
          roleName,
          ...(options.durationSeconds !== undefined ? { durationSeconds: options.durationSeconds } : {}),
          ...(options.sessionPolicy !== undefined ? { sessionPolicy: options.sessionPolicy } : {}),
        },
        options.now ?? Date.now(),
      );
      return { ...creds, endpoint: server.endpoint };
    }

    async function makeFilter(): Promise<string> {
      const body = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterName: 'ram-test',
      });
      const id = String(body.TrafficMirrorFilterId);
      await server.advance({ resourceId: id });
      return id;
    }

    let priority = 0;
    async function makeSession(filterId: string): Promise<string> {
      priority += 1;
      const body = await callVia('vpc-v3', server, 'CreateTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorFilterId: filterId,
        TrafficMirrorSourceIds: [`eni-ramsrc${priority}`],
        TrafficMirrorTargetId: 'eni-ramtarget',
        TrafficMirrorTargetType: 'NetworkInterface',
        Priority: priority,
      });
      const id = String(body.TrafficMirrorSessionId);
      await server.advance({ resourceId: id });
      return id;
    }

    async function filterIds(): Promise<string[]> {
      const body = await callVia('vpc-v3', server, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        MaxResults: 100,
      });
      return (body.TrafficMirrorFilters as Array<{ TrafficMirrorFilterId: string }>).map(
        (f) => f.TrafficMirrorFilterId,
      );
    }

    async function sessionIds(): Promise<string[]> {
      const body = await callVia('vpc-v3', server, 'ListTrafficMirrorSessions', {
        RegionId: REGION,
        MaxResults: 100,
      });
      return (body.TrafficMirrorSessions as Array<{ TrafficMirrorSessionId: string }>).map(
        (s) => s.TrafficMirrorSessionId,
      );
    }

    async function expectForbidden(
      fn: () => Promise<unknown>,
      expected: {
        action: string;
        type: string;
        name: string;
        noPermission: string;
        policyType?: 'AccountLevelIdentityBasedPolicy' | 'SessionPolicy';
      },
    ): Promise<void> {
      const err = await expectCode(fn, 'Forbidden.RAM');
      assert.equal(httpStatusOf(err), 403);
      assert.match(String(err.message), new RegExp(FORBIDDEN_MESSAGE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const detail = deniedDetailOf(err);
      assert.equal(detail.AuthAction, expected.action);
      assert.equal(detail.AuthPrincipalType, expected.type);
      assert.equal(detail.AuthPrincipalDisplayName, expected.name);
      assert.equal(detail.AuthPrincipalOwnerId, server.accountId);
      assert.equal(detail.NoPermissionType, expected.noPermission);
      assert.equal(detail.PolicyType, expected.policyType ?? 'AccountLevelIdentityBasedPolicy');
      assert.equal(typeof detail.EncodedDiagnosticMessage, 'string');
    }

    describe('a RAM user with AliyunVPCReadOnlyAccess', () => {
      let reader: Credentials & { userName: string };
      let filter: string;
      let session: string;
      before(async () => {
        reader = await ramUser([{ system: 'AliyunVPCReadOnlyAccess' }]);
        filter = await makeFilter();
        session = await makeSession(filter);
      });

      for (const mode of CLIENT_MODES) {
        test(`lists filters and sessions and describes regions through ${mode}`, async () => {
          const filters = await callVia(mode, reader, 'ListTrafficMirrorFilters', { RegionId: REGION });
          assert.ok(
            (filters.TrafficMirrorFilters as Array<{ TrafficMirrorFilterId: string }>).some(
              (f) => f.TrafficMirrorFilterId === filter,
            ),
          );
          const sessions = await callVia(mode, reader, 'ListTrafficMirrorSessions', { RegionId: REGION });
          assert.ok(
            (sessions.TrafficMirrorSessions as Array<{ TrafficMirrorSessionId: string }>).some(
              (s) => s.TrafficMirrorSessionId === session,
            ),
          );
          const regions = await callVia(mode, reader, 'DescribeRegions', {});
          assert.ok(Array.isArray((regions.Regions as { Region: unknown[] }).Region));
        });

        test(`deleting a filter is Forbidden.RAM (403, ImplicitDeny, SubUser) through ${mode}`, async () => {
          await expectForbidden(
            () =>
              callVia(mode, reader, 'DeleteTrafficMirrorFilter', {
                RegionId: REGION,
                TrafficMirrorFilterId: filter,
              }),
            {
              action: 'vpc:DeleteTrafficMirrorFilter',
              type: 'SubUser',
              name: reader.userName,
              noPermission: 'ImplicitDeny',
            },
          );
          assert.ok((await filterIds()).includes(filter));
        });

        test(`deleting a session is Forbidden.RAM (403, ImplicitDeny, SubUser) through ${mode}`, async () => {
          await expectForbidden(
            () =>
              callVia(mode, reader, 'DeleteTrafficMirrorSession', {
                RegionId: REGION,
                TrafficMirrorSessionId: session,
              }),
            {
              action: 'vpc:DeleteTrafficMirrorSession',
              type: 'SubUser',
              name: reader.userName,
              noPermission: 'ImplicitDeny',
            },
          );
          assert.ok((await sessionIds()).includes(session));
        });
      }

      test('creating a filter is Forbidden.RAM and creates nothing', async () => {
        const before = await filterIds();
        await expectForbidden(
          () =>
            callVia('vpc-v3', reader, 'CreateTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterName: 'nope',
            }),
          {
            action: 'vpc:CreateTrafficMirrorFilter',
            type: 'SubUser',
            name: reader.userName,
            noPermission: 'ImplicitDeny',
          },
        );
        assert.deepEqual(await filterIds(), before);
      });

      test('a denied DryRun delete is Forbidden.RAM (403), not DryRunOperation', async () => {
        await expectForbidden(
          () =>
            callVia('vpc-v1', reader, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: filter,
              DryRun: true,
            }),
          {
            action: 'vpc:DeleteTrafficMirrorFilter',
            type: 'SubUser',
            name: reader.userName,
            noPermission: 'ImplicitDeny',
          },
        );
        await expectForbidden(
          () =>
            callVia('pop-post', reader, 'DeleteTrafficMirrorSession', {
              RegionId: REGION,
              TrafficMirrorSessionId: session,
              DryRun: true,
            }),
          {
            action: 'vpc:DeleteTrafficMirrorSession',
            type: 'SubUser',
            name: reader.userName,
            noPermission: 'ImplicitDeny',
          },
        );
        // The same DryRun by the account itself passes authorization and every check (on a
        // filter no session uses, so that the delete itself would be allowed).
        const unused = await makeFilter();
        await expectForbidden(
          () =>
            callVia('vpc-v1', reader, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: unused,
              DryRun: true,
            }),
          {
            action: 'vpc:DeleteTrafficMirrorFilter',
            type: 'SubUser',
            name: reader.userName,
            noPermission: 'ImplicitDeny',
          },
        );
        await expectCode(
          () =>
            callVia('vpc-v1', server, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: unused,
              DryRun: true,
            }),
          'DryRunOperation',
        );
      });
    });

    test('a user allowed DeleteTrafficMirrorFilter on one filter ARN deletes that filter and is Forbidden.RAM on another', async () => {
      const mine = await makeFilter();
      const other = await makeFilter();
      const deleter = await ramUser([
        {
          custom: allow(
            'vpc:DeleteTrafficMirrorFilter',
            `acs:vpc:${REGION}:${server.accountId}:trafficmirrorfilter/${mine}`,
          ),
        },
      ]);
      await expectForbidden(
        () =>
          callVia('vpc-v3', deleter, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: other,
          }),
        {
          action: 'vpc:DeleteTrafficMirrorFilter',
          type: 'SubUser',
          name: deleter.userName,
          noPermission: 'ImplicitDeny',
        },
      );
      await callVia('pop-get', deleter, 'DeleteTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterId: mine,
      });
      await server.advance({ resourceId: mine });
      const left = await filterIds();
      assert.ok(!left.includes(mine), 'the allowed filter is gone');
      assert.ok(left.includes(other), 'the other filter is still there');
    });

    test('a user allowed DeleteTrafficMirrorSession on one session ARN deletes that session and is Forbidden.RAM on another', async () => {
      const filter = await makeFilter();
      const mine = await makeSession(filter);
      const other = await makeSession(filter);
      const deleter = await ramUser([
        {
          custom: allow(
            'vpc:DeleteTrafficMirrorSession',
            `acs:vpc:${REGION}:${server.accountId}:trafficmirrorsession/${mine}`,
          ),
        },
      ]);
      await expectForbidden(
        () =>
          callVia('vpc-v3', deleter, 'DeleteTrafficMirrorSession', {
            RegionId: REGION,
            TrafficMirrorSessionId: other,
          }),
        {
          action: 'vpc:DeleteTrafficMirrorSession',
          type: 'SubUser',
          name: deleter.userName,
          noPermission: 'ImplicitDeny',
        },
      );
      await callVia('vpc-v1', deleter, 'DeleteTrafficMirrorSession', {
        RegionId: REGION,
        TrafficMirrorSessionId: mine,
      });
      await server.advance({ resourceId: mine });
      const left = await sessionIds();
      assert.ok(!left.includes(mine), 'the allowed session is gone');
      assert.ok(left.includes(other), 'the other session is still there');
    });

    describe('acs:ResourceTag conditions', () => {
      const DEV_ONLY = allow('vpc:DeleteTrafficMirrorSession', '*', {
        StringEquals: { 'acs:ResourceTag/env': 'dev' },
      });
      let filter: string;
      before(async () => {
        filter = await makeFilter();
      });

      async function taggedSession(env: string): Promise<string> {
        const id = await makeSession(filter);
        await callVia('vpc-v3', server, 'TagResources', {
          RegionId: REGION,
          ResourceType: 'TrafficMirrorSession',
          ResourceId: [id],
          Tag: [{ Key: 'env', Value: env }],
        });
        return id;
      }

      function deleteAs(caller: Credentials, id: string, regionId = REGION): Promise<unknown> {
        return callVia('vpc-v3', caller, 'DeleteTrafficMirrorSession', {
          RegionId: regionId,
          TrafficMirrorSessionId: id,
        });
      }

      test('a user allowed only on sessions tagged env=dev deletes one and is Forbidden.RAM on one tagged env=prod', async () => {
        const dev = await taggedSession('dev');
        const prod = await taggedSession('prod');
        const user = await ramUser([{ custom: DEV_ONLY }]);
        await expectForbidden(() => deleteAs(user, prod), {
          action: 'vpc:DeleteTrafficMirrorSession',
          type: 'SubUser',
          name: user.userName,
          noPermission: 'ImplicitDeny',
        });
        await deleteAs(user, dev);
        await server.advance({ resourceId: dev });
        const left = await sessionIds();
        assert.ok(!left.includes(dev), 'the session tagged env=dev is gone');
        assert.ok(left.includes(prod), 'the session tagged env=prod is still there');
      });

      test("another account's tags never satisfy the condition: its user gets Forbidden.RAM, not a hint that the session exists", async () => {
        const dev = await taggedSession('dev');
        const other = await createAccount(server.store.db, { name: uniqueName('other') }, Date.now());
        const outsider = await ramUser([{ custom: DEV_ONLY }], other.id);
        for (const id of [dev, 'tms-doesnotexist00000']) {
          const err = await expectCode(() => deleteAs(outsider, id), 'Forbidden.RAM');
          assert.equal(httpStatusOf(err), 403);
        }
        assert.ok((await sessionIds()).includes(dev), 'the session is untouched');
      });

      async function taggedFilter(env: string): Promise<string> {
        const id = await makeFilter();
        await callVia('vpc-v3', server, 'TagResources', {
          RegionId: REGION,
          ResourceType: 'TrafficMirrorFilter',
          ResourceId: [id],
          Tag: [{ Key: 'env', Value: env }],
        });
        return id;
      }

      test('one call on two resources: each is judged by its own tags, so a dev resource does not carry a prod one', async () => {
        const dev = await taggedFilter('dev');
        const prod = await taggedFilter('prod');
        const user = await ramUser([
          {
            custom: allow(['vpc:UnTagResources', 'vpc:CreateTrafficMirrorSession'], '*', {
              StringEquals: { 'acs:ResourceTag/env': 'dev' },
            }),
          },
        ]);
        await expectCode(
          () =>
            callVia('pop-post', user, 'UnTagResources', {
              RegionId: REGION,
              ResourceType: 'TrafficMirrorFilter',
              ResourceId: [dev, prod],
              TagKey: ['env'],
            }),
          'Forbidden.RAM',
        );
        const left = await callVia('vpc-v3', server, 'ListTagResources', {
          RegionId: REGION,
          ResourceType: 'TrafficMirrorFilter',
          ResourceId: [dev, prod],
        });
        assert.equal(JSON.stringify(left).match(/"TagKey":"env"/g)?.length, 2, 'both filters keep their tag');
        // A new session has no tags: the dev filter's tags do not speak for trafficmirrorsession/*.
        await expectCode(
          () =>
            callVia('vpc-v3', user, 'CreateTrafficMirrorSession', {
              RegionId: REGION,
              TrafficMirrorFilterId: dev,
              TrafficMirrorSourceIds: ['eni-tagsrc1'],
              TrafficMirrorTargetId: 'eni-tagtarget',
              TrafficMirrorTargetType: 'NetworkInterface',
              Priority: 30000,
              DryRun: true,
            }),
          'Forbidden.RAM',
        );
      });

      test('a session policy sees resource tags too: its Deny on a tag wins, as an ExplicitDeny', async () => {
        const prod = await taggedFilter('prod');
        const dev = await taggedFilter('dev');
        const creds = await roleCredentials(['AliyunVPCFullAccess'], {
          sessionPolicy: {
            Version: '1',
            Statement: [
              statement('Allow', 'vpc:*', '*'),
              statement('Deny', 'vpc:DeleteTrafficMirrorFilter', '*', {
                StringEquals: { 'acs:ResourceTag/env': 'prod' },
              }),
            ],
          },
        });
        const del = (id: string) =>
          callVia('vpc-v3', creds, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: id,
            DryRun: true,
          });
        const err = await expectCode(() => del(prod), 'Forbidden.RAM');
        assert.equal(deniedDetailOf(err).NoPermissionType, 'ExplicitDeny');
        assert.equal(deniedDetailOf(err).PolicyType, 'SessionPolicy');
        await expectCode(() => del(dev), 'DryRunOperation');
      });

      test('tags count only under the resource name of their region: the same id in another region is Forbidden.RAM', async () => {
        const dev = await taggedSession('dev');
        const user = await ramUser([{ custom: DEV_ONLY }]);
        const err = await expectCode(() => deleteAs(user, dev, 'cn-beijing'), 'Forbidden.RAM');
        assert.equal(httpStatusOf(err), 403);
        assert.ok((await sessionIds()).includes(dev));
      });
    });

    test('a Deny on vpc:Delete* beats AliyunVPCFullAccess: Forbidden.RAM with ExplicitDeny, while other actions stay allowed', async () => {
      const filter = await makeFilter();
      const user = await ramUser([{ system: 'AliyunVPCFullAccess' }, { custom: deny('vpc:Delete*') }]);
      await expectForbidden(
        () =>
          callVia('vpc-v3', user, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: filter,
          }),
        {
          action: 'vpc:DeleteTrafficMirrorFilter',
          type: 'SubUser',
          name: user.userName,
          noPermission: 'ExplicitDeny',
        },
      );
      await callVia('vpc-v3', user, 'UpdateTrafficMirrorFilterAttribute', {
        RegionId: REGION,
        TrafficMirrorFilterId: filter,
        TrafficMirrorFilterName: 'renamed-by-user',
      });
      assert.ok((await filterIds()).includes(filter));
    });

    test('an acs:SourceIp condition allows a caller from 127.0.0.1 and is Forbidden.RAM for a policy limited to 10.0.0.0/8', async () => {
      const fromLoopback = await ramUser([
        {
          custom: allow('vpc:ListTrafficMirrorFilters', '*', {
            IpAddress: { 'acs:SourceIp': ['127.0.0.1'] },
          }),
        },
      ]);
      const fromTenNet = await ramUser([
        {
          custom: allow('vpc:ListTrafficMirrorFilters', '*', {
            IpAddress: { 'acs:SourceIp': '10.0.0.0/8' },
          }),
        },
      ]);
      const body = await callVia('vpc-v3', fromLoopback, 'ListTrafficMirrorFilters', { RegionId: REGION });
      assert.ok(Array.isArray(body.TrafficMirrorFilters));
      await expectForbidden(
        () => callVia('vpc-v3', fromTenNet, 'ListTrafficMirrorFilters', { RegionId: REGION }),
        {
          action: 'vpc:ListTrafficMirrorFilters',
          type: 'SubUser',
          name: fromTenNet.userName,
          noPermission: 'ImplicitDeny',
        },
      );
    });

    test('acs:RequestTag holds every Tag.N value: a second key differing only in case does not hide the first', async () => {
      const user = await ramUser([
        { system: 'AliyunVPCFullAccess' },
        {
          custom: deny(['vpc:CreateTrafficMirrorFilter', 'vpc:TagResources', 'vpc:ListTagResources'], '*', {
            StringEquals: { 'acs:RequestTag/env': 'prod' },
          }),
        },
      ]);
      const dryCreate = (caller: Credentials, tags: Array<{ Key: string; Value: string }>) =>
        callVia('vpc-v3', caller, 'CreateTrafficMirrorFilter', { RegionId: REGION, Tag: tags, DryRun: true });
      const create = (tags: Array<{ Key: string; Value: string }>) => dryCreate(user, tags);
      for (const tags of [
        [{ Key: 'env', Value: 'prod' }],
        [
          { Key: 'env', Value: 'prod' },
          { Key: 'Env', Value: 'x' },
        ],
        [
          { Key: 'ENV', Value: 'x' },
          { Key: 'env', Value: 'prod' },
        ],
      ]) {
        const err = await expectCode(() => create(tags), 'Forbidden.RAM');
        assert.equal(deniedDetailOf(err).NoPermissionType, 'ExplicitDeny');
      }
      await expectCode(() => create([{ Key: 'env', Value: 'dev' }]), 'DryRunOperation');
      // The usual way to enforce a tag, a Deny unless it has one value, holds for each of the tags.
      const prodOnly = await ramUser([
        { system: 'AliyunVPCFullAccess' },
        {
          custom: deny('vpc:CreateTrafficMirrorFilter', '*', {
            StringNotEquals: { 'acs:RequestTag/env': 'prod' },
          }),
        },
      ]);
      const createAs = (tags: Array<{ Key: string; Value: string }>) => dryCreate(prodOnly, tags);
      await expectCode(() => createAs([{ Key: 'env', Value: 'prod' }]), 'DryRunOperation');
      for (const tags of [
        [{ Key: 'env', Value: 'dev' }],
        [
          { Key: 'env', Value: 'dev' },
          { Key: 'Env', Value: 'prod' },
        ],
        [
          { Key: 'ENV', Value: 'prod' },
          { Key: 'env', Value: 'dev' },
        ],
      ]) {
        await expectCode(() => createAs(tags), 'Forbidden.RAM');
      }
      // ListTagResources' Tag.N is a search, not a tag the caller sets.
      await callVia('vpc-v3', user, 'ListTagResources', {
        RegionId: REGION,
        ResourceType: 'TrafficMirrorFilter',
        Tag: [{ Key: 'env', Value: 'prod' }],
      });
    });

    test('acs:MFAPresent is false: calls are signed with AccessKeys', async () => {
      const user = await ramUser([
        { system: 'AliyunVPCFullAccess' },
        {
          custom: deny('vpc:Delete*', '*', { Bool: { 'acs:MFAPresent': 'false' } }),
        },
      ]);
      const filter = await makeFilter();
      const err = await expectCode(
        () =>
          callVia('vpc-v3', user, 'DeleteTrafficMirrorFilter', {
            RegionId: REGION,
            TrafficMirrorFilterId: filter,
          }),
        'Forbidden.RAM',
      );
      assert.equal(deniedDetailOf(err).NoPermissionType, 'ExplicitDeny');
      await callVia('vpc-v3', user, 'ListTrafficMirrorFilters', { RegionId: REGION });
    });

    test('moving a session to another filter needs the right on that filter; re-sending its current filter does not', async () => {
      const mine = await makeFilter();
      const other = await makeFilter();
      const session = await makeSession(mine);
      const user = await ramUser([
        {
          custom: allow('vpc:UpdateTrafficMirrorSessionAttribute', [
            `acs:vpc:${REGION}:${server.accountId}:trafficmirrorsession/*`,
            `acs:vpc:${REGION}:${server.accountId}:trafficmirrorfilter/${mine}`,
          ]),
        },
      ]);
      const update = (filterId: string) =>
        callVia('vpc-v3', user, 'UpdateTrafficMirrorSessionAttribute', {
          RegionId: REGION,
          TrafficMirrorSessionId: session,
          TrafficMirrorFilterId: filterId,
          DryRun: true,
        });
      await expectCode(() => update(other), 'Forbidden.RAM');
      await expectCode(() => update(mine), 'DryRunOperation');
    });

    test("an explicit Deny in the session policy is ExplicitDeny, named SessionPolicy, even when the role policies deny implicitly; the role's own explicit Deny is named first", async () => {
      const creds = await roleCredentials(['AliyunVPCReadOnlyAccess'], {
        sessionPolicy: deny('vpc:*'),
      });
      const err = await expectCode(
        () => callVia('vpc-v3', creds, 'CreateTrafficMirrorFilter', { RegionId: REGION, DryRun: true }),
        'Forbidden.RAM',
      );
      assert.equal(deniedDetailOf(err).NoPermissionType, 'ExplicitDeny');
      assert.equal(deniedDetailOf(err).PolicyType, 'SessionPolicy');
      // Both deny explicitly: the role's policies are named. Both lack an Allow: the role's
      // policies are named too; the session policy's missing Allow only when the role's allow.
      const both = await roleCredentials(['AliyunVPCFullAccess'], {
        custom: [deny('vpc:Create*')],
        sessionPolicy: deny('vpc:*'),
      });
      const bothErr = await expectCode(
        () => callVia('vpc-v3', both, 'CreateTrafficMirrorFilter', { RegionId: REGION, DryRun: true }),
        'Forbidden.RAM',
      );
      assert.deepEqual(
        [deniedDetailOf(bothErr).PolicyType, deniedDetailOf(bothErr).NoPermissionType],
        ['AccountLevelIdentityBasedPolicy', 'ExplicitDeny'],
      );
      const neither = await roleCredentials(['AliyunVPCReadOnlyAccess'], {
        sessionPolicy: allow('vpc:List*'),
      });
      const neitherErr = await expectCode(
        () => callVia('vpc-v3', neither, 'CreateTrafficMirrorFilter', { RegionId: REGION, DryRun: true }),
        'Forbidden.RAM',
      );
      assert.deepEqual(
        [deniedDetailOf(neitherErr).PolicyType, deniedDetailOf(neitherErr).NoPermissionType],
        ['AccountLevelIdentityBasedPolicy', 'ImplicitDeny'],
      );
    });

    test("a RAM user holds the policies of its groups: a group's Allow lets it list, a group's Deny wins over its own Allow, and leaving the group or detaching applies at the next request", async () => {
      const user = await ramUser([]);
      const db = server.store.db;
      const now = Date.now();
      const readers = uniqueName('readers');
      const noDelete = uniqueName('nodelete');
      await createGroup(db, { accountId: server.accountId, name: readers }, now);
      await createGroup(db, { accountId: server.accountId, name: noDelete }, now);
      await attachPolicy(db, {
        accountId: server.accountId,
        principal: { type: 'Group', name: readers },
        policyName: 'AliyunVPCReadOnlyAccess',
      });
      const list = () => callVia('vpc-v3', user, 'ListTrafficMirrorFilters', { RegionId: REGION });
      const forbiddenList = {
        action: 'vpc:ListTrafficMirrorFilters',
        type: 'SubUser',
        name: user.userName,
        noPermission: 'ImplicitDeny',
      };
      await expectForbidden(list, forbiddenList);
      const member = { accountId: server.accountId, groupName: readers, userName: user.userName };
      assert.equal(await addUserToGroup(db, member, now), true);
      assert.equal(await addUserToGroup(db, member, now), false, 'adding again changes nothing');
      await list();

      // A Deny of another group of the user beats the Allow of the user's own policy.
      await attachPolicy(db, {
        accountId: server.accountId,
        principal: { type: 'User', name: user.userName },
        policyName: 'AliyunVPCFullAccess',
      });
      const policyName = uniqueName('deny-delete');
      await createPolicy(
        db,
        { accountId: server.accountId, name: policyName, document: deny('vpc:Delete*') },
        now,
      );
      await attachPolicy(db, {
        accountId: server.accountId,
        principal: { type: 'Group', name: noDelete },
        policyName,
      });
      const filter = await makeFilter();
      const del = () =>
        callVia('pop-post', user, 'DeleteTrafficMirrorFilter', {
          RegionId: REGION,
          TrafficMirrorFilterId: filter,
          DryRun: true,
        });
      await expectCode(del, 'DryRunOperation');
      await addUserToGroup(db, { ...member, groupName: noDelete }, now);
      await expectForbidden(del, {
        action: 'vpc:DeleteTrafficMirrorFilter',
        type: 'SubUser',
        name: user.userName,
        noPermission: 'ExplicitDeny',
      });
      await detachPolicy(db, {
        accountId: server.accountId,
        principal: { type: 'Group', name: noDelete },
        policyName,
      });
      await expectCode(del, 'DryRunOperation');

      // Out of the readers group, with its own policy gone too: nothing lets it list any more.
      await detachPolicy(db, {
        accountId: server.accountId,
        principal: { type: 'User', name: user.userName },
        policyName: 'AliyunVPCFullAccess',
      });
      await list();
      await removeUserFromGroup(db, member);
      await expectForbidden(list, forbiddenList);
    });

    test("a group's policies are its members' only: another user, or a user of the same name in another account, gets nothing from it", async () => {
      const db = server.store.db;
      const now = Date.now();
      const groupName = uniqueName('grp');
      await createGroup(db, { accountId: server.accountId, name: groupName }, now);
      await attachPolicy(db, {
        accountId: server.accountId,
        principal: { type: 'Group', name: groupName },
        policyName: 'AliyunVPCReadOnlyAccess',
      });
      const member = await ramUser([]);
      const outsider = await ramUser([]);
      await addUserToGroup(db, { accountId: server.accountId, groupName, userName: member.userName }, now);
      // In another account, a group of the same name, holding nothing, whose members have the
      // names of the member and of the outsider here: membership counts in its own account only.
      const other = await createAccount(db, { name: uniqueName('acct') }, now);
      await createGroup(db, { accountId: other.id, name: groupName }, now);
      for (const userName of [member.userName, outsider.userName]) {
        await createUser(db, { accountId: other.id, name: userName }, now);
        await addUserToGroup(db, { accountId: other.id, groupName, userName }, now);
      }
      const otherKey = await createAccessKey(db, { accountId: other.id, userName: member.userName }, now);
      await callVia('vpc-v3', member, 'ListTrafficMirrorFilters', { RegionId: REGION });
      for (const who of [outsider, { endpoint: server.endpoint, ...otherKey }])
        await expectCode(
          () => callVia('vpc-v1', who, 'ListTrafficMirrorFilters', { RegionId: REGION }),
          'Forbidden.RAM',
        );
    });

    test('detaching a policy from a user applies to the running server at the next request', async () => {
      const user = await ramUser([{ system: 'AliyunVPCReadOnlyAccess' }]);
      await callVia('vpc-v3', user, 'ListTrafficMirrorFilters', { RegionId: REGION });
      await detachPolicy(server.store.db, {
        accountId: server.accountId,
        principal: { type: 'User', name: user.userName },
        policyName: 'AliyunVPCReadOnlyAccess',
      });
      await expectForbidden(() => callVia('vpc-v3', user, 'ListTrafficMirrorFilters', { RegionId: REGION }), {
        action: 'vpc:ListTrafficMirrorFilters',
        type: 'SubUser',
        name: user.userName,
        noPermission: 'ImplicitDeny',
      });
    });

    describe('temporary credentials', () => {
      for (const mode of CLIENT_MODES) {
        test(`a role with AliyunVPCReadOnlyAccess lists filters with its security token through ${mode}`, async () => {
          const creds = await roleCredentials(['AliyunVPCReadOnlyAccess']);
          assert.match(creds.accessKeyId, /^STS\./);
          assert.match(creds.securityToken, /^vmst\./);
          const body = await callVia(mode, creds, 'ListTrafficMirrorFilters', { RegionId: REGION });
          assert.ok(Array.isArray(body.TrafficMirrorFilters));
        });
      }

      test('a role with read-only access deleting a filter is Forbidden.RAM as an AssumedRoleUser', async () => {
        const filter = await makeFilter();
        const creds = await roleCredentials(['AliyunVPCReadOnlyAccess']);
        await expectForbidden(
          () =>
            callVia('vpc-v3', creds, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: filter,
            }),
          {
            action: 'vpc:DeleteTrafficMirrorFilter',
            type: 'AssumedRoleUser',
            name: creds.roleName,
            noPermission: 'ImplicitDeny',
          },
        );
      });

      test('a session policy narrows a role with AliyunVPCFullAccess: listing works, deleting is Forbidden.RAM', async () => {
        const filter = await makeFilter();
        const creds = await roleCredentials(['AliyunVPCFullAccess'], {
          sessionPolicy: allow('vpc:List*'),
        });
        await callVia('vpc-v3', creds, 'ListTrafficMirrorFilters', { RegionId: REGION });
        await expectForbidden(
          () =>
            callVia('pop-get', creds, 'DeleteTrafficMirrorFilter', {
              RegionId: REGION,
              TrafficMirrorFilterId: filter,
            }),
          {
            action: 'vpc:DeleteTrafficMirrorFilter',
            type: 'AssumedRoleUser',
            name: creds.roleName,
            noPermission: 'ImplicitDeny',
            policyType: 'SessionPolicy',
          },
        );
        assert.ok((await filterIds()).includes(filter));
      });

      for (const mode of CLIENT_MODES) {
        test(`expired credentials are InvalidSecurityToken.Expired through ${mode}`, async () => {
          const creds = await roleCredentials(['AliyunVPCFullAccess'], {
            now: Date.now() - 2 * 3600 * 1000,
            durationSeconds: 3600,
          });
          await expectCode(
            () => callVia(mode, creds, 'ListTrafficMirrorFilters', { RegionId: REGION }),
            'InvalidSecurityToken.Expired',
          );
        });

        test(`another credential's token is InvalidSecurityToken.MismatchWithAccessKey through ${mode}`, async () => {
          const creds = await roleCredentials(['AliyunVPCFullAccess']);
          const otherCreds = await roleCredentials(['AliyunVPCFullAccess']);
          await expectCode(
            () => callVia(mode, { ...creds, securityToken: otherCreds.securityToken }, 'DescribeRegions', {}),
            'InvalidSecurityToken.MismatchWithAccessKey',
          );
        });

        test(`a token this server never issued is InvalidSecurityToken.Malformed through ${mode}`, async () => {
          const creds = await roleCredentials(['AliyunVPCFullAccess']);
          await expectCode(
            () => callVia(mode, { ...creds, securityToken: 'CAIS-not-ours' }, 'DescribeRegions', {}),
            'InvalidSecurityToken.Malformed',
          );
        });

        test(`temporary credentials without their token are MissingSecurityToken through ${mode}`, async () => {
          const creds = await roleCredentials(['AliyunVPCFullAccess']);
          const { securityToken: _dropped, ...withoutToken } = creds;
          await expectCode(
            () =>
              callVia(
                mode,
                {
                  endpoint: withoutToken.endpoint,
                  accessKeyId: withoutToken.accessKeyId,
                  accessKeySecret: withoutToken.accessKeySecret,
                },
                'DescribeRegions',
                {},
              ),
            'MissingSecurityToken',
          );
        });

        test(`the token is checked before the signature (spec order): a wrong secret without the token is MissingSecurityToken, with an expired one InvalidSecurityToken.Expired, through ${mode}`, async () => {
          const creds = await roleCredentials(['AliyunVPCFullAccess']);
          await expectCode(
            () =>
              callVia(
                mode,
                { endpoint: creds.endpoint, accessKeyId: creds.accessKeyId, accessKeySecret: 'wrong-secret' },
                'DescribeRegions',
                {},
              ),
            'MissingSecurityToken',
          );
          const expired = await roleCredentials(['AliyunVPCFullAccess'], {
            now: Date.now() - 2 * 3600 * 1000,
            durationSeconds: 3600,
          });
          await expectCode(
            () => callVia(mode, { ...expired, accessKeySecret: 'wrong-secret' }, 'DescribeRegions', {}),
            'InvalidSecurityToken.Expired',
          );
        });
      }
    });

    describe('AccessKey status', () => {
      for (const mode of CLIENT_MODES) {
        test(`a disabled key is InvalidAccessKeyId.Inactive and works again once enabled, through ${mode}`, async () => {
          const user = await ramUser([{ system: 'AliyunVPCReadOnlyAccess' }]);
          await setAccessKeyEnabled(server.store.db, user.accessKeyId, false);
          await expectCode(() => callVia(mode, user, 'DescribeRegions', {}), 'InvalidAccessKeyId.Inactive');
          await setAccessKeyEnabled(server.store.db, user.accessKeyId, true);
          await callVia(mode, user, 'DescribeRegions', {});
        });
      }

      test('a disabled root key is InvalidAccessKeyId.Inactive for the account itself', async () => {
        const key = await createAccessKey(server.store.db, { accountId: server.accountId }, Date.now());
        const root = {
          endpoint: server.endpoint,
          accessKeyId: key.accessKeyId,
          accessKeySecret: key.accessKeySecret,
        };
        await callVia('vpc-v3', root, 'DescribeRegions', {});
        await setAccessKeyEnabled(server.store.db, key.accessKeyId, false);
        await expectCode(() => callVia('vpc-v3', root, 'DescribeRegions', {}), 'InvalidAccessKeyId.Inactive');
      });
    });
  });

  describe(`serve --no-ram [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual', 'no-ram': true } });
    });
    after(() => server.close());

    test('a RAM user without any policy creates, lists and deletes filters when RAM is off', async () => {
      const db = server.store.db;
      const now = Date.now();
      await createUser(db, { accountId: server.accountId, name: 'nopolicy' }, now);
      const key = await createAccessKey(db, { accountId: server.accountId, userName: 'nopolicy' }, now);
      const user = {
        endpoint: server.endpoint,
        accessKeyId: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
      };
      const created = await callVia('vpc-v3', user, 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterName: 'no-ram',
      });
      const id = String(created.TrafficMirrorFilterId);
      await server.advance({ resourceId: id });
      const listed = await callVia('pop-get', user, 'ListTrafficMirrorFilters', { RegionId: REGION });
      assert.ok(
        (listed.TrafficMirrorFilters as Array<{ TrafficMirrorFilterId: string }>).some(
          (f) => f.TrafficMirrorFilterId === id,
        ),
      );
      await callVia('vpc-v1', user, 'DeleteTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterId: id,
      });
    });

    test('credentials are still checked when RAM is off: a disabled key is InvalidAccessKeyId.Inactive', async () => {
      const key = await createAccessKey(server.store.db, { accountId: server.accountId }, Date.now());
      await setAccessKeyEnabled(server.store.db, key.accessKeyId, false);
      await expectCode(
        () =>
          callVia(
            'vpc-v3',
            { endpoint: server.endpoint, accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
            'DescribeRegions',
            {},
          ),
        'InvalidAccessKeyId.Inactive',
      );
    });
  });
}
