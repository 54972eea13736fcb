/**
 * TagResources, UnTagResources, ListTagResources and MoveResourceGroup for traffic mirror
 * sessions and filters, through the official clients: effects visible in the List operations,
 * ResourceType case insensitivity, the wrapped ListTagResources shape, pagination and every
 * documented error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Vpc from '@alicloud/vpc20160428';
import { filterAppliers } from '../../src/vpc/traffic-mirror/filters.service.js';
import { sessionAppliers } from '../../src/vpc/traffic-mirror/sessions.service.js';
import { putTags } from '../../src/vpc/traffic-mirror/tags.repo.js';
import { REQUEST_ID } from '../helpers/capture.js';
import { CLIENT_MODES, type ClientMode, callVia, expectCode, vpcClient } from '../helpers/clients.js';
import { untilWaiting } from '../helpers/pg-waits.js';
import { scratchPgDatabase, startTestServer, type TestServer, testStores } from '../helpers/server.js';
import {
  addAccount,
  addRamUser,
  deleteCall,
  getSession,
  makeFilter,
  makeSession,
  REGION,
} from './session-fixtures.js';

type TagResource = { ResourceId: string; ResourceType: string; TagKey: string; TagValue: string };

function call(
  server: TestServer,
  action: string,
  params: Record<string, unknown>,
  mode: ClientMode = 'vpc-v3',
) {
  return callVia(mode, server, action, { RegionId: REGION, ...params });
}

function tagResources(body: Record<string, unknown>): TagResource[] {
  const wrapper = body.TagResources as { TagResource: TagResource[] };
  assert.ok(wrapper && Array.isArray(wrapper.TagResource), 'TagResources is wrapped: {TagResource: [...]}');
  return wrapper.TagResource;
}

async function filterTags(server: TestServer, id: string): Promise<unknown> {
  const body = await call(server, 'ListTrafficMirrorFilters', { TrafficMirrorFilterIds: [id] });
  const list = body.TrafficMirrorFilters as Array<Record<string, unknown>>;
  return list[0]?.Tags;
}

for (const storeKind of testStores()) {
  describe(`tags and resource groups of sessions and filters [${storeKind}]`, () => {
    let server: TestServer;
    let filter: string;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      filter = await makeFilter(server);
    });
    after(() => server.close());

    for (const mode of CLIENT_MODES) {
      test(`TagResources, ListTagResources and UnTagResources on a session work with any ResourceType case through ${mode}`, async () => {
        const id = await makeSession(server, filter, { Tag: [{ Key: 'keep', Value: '1' }] });
        await call(
          server,
          'TagResources',
          {
            ResourceType: 'TrafficMirrorSession',
            ResourceId: [id],
            Tag: [
              { Key: 'env', Value: 'prod' },
              { Key: 'keep', Value: '2' },
            ],
          },
          mode,
        );
        assert.deepEqual((await getSession(server, id))?.Tags, [
          { Key: 'env', Value: 'prod' },
          { Key: 'keep', Value: '2' },
        ]);
        const listed = await call(
          server,
          'ListTagResources',
          { ResourceType: 'trafficmirrorsession', ResourceId: [id] },
          mode,
        );
        assert.deepEqual(Object.keys(listed).sort(), ['NextToken', 'RequestId', 'TagResources']);
        assert.deepEqual(tagResources(listed), [
          { ResourceId: id, ResourceType: 'TRAFFICMIRRORSESSION', TagKey: 'env', TagValue: 'prod' },
          { ResourceId: id, ResourceType: 'TRAFFICMIRRORSESSION', TagKey: 'keep', TagValue: '2' },
        ]);
        const byTag = await call(
          server,
          'ListTrafficMirrorSessions',
          { Tags: [{ Key: 'env', Value: 'prod' }] },
          mode,
        );
        assert.ok(
          (byTag.TrafficMirrorSessions as Array<Record<string, unknown>>).some(
            (s) => s.TrafficMirrorSessionId === id,
          ),
        );
        await call(
          server,
          'UnTagResources',
          { ResourceType: 'TRAFFICMIRRORSESSION', ResourceId: [id], TagKey: ['env', 'absent'] },
          mode,
        );
        assert.deepEqual((await getSession(server, id))?.Tags, [{ Key: 'keep', Value: '2' }]);
        await call(server, 'TagResources', {
          ResourceType: 'TrafficMirrorSession',
          ResourceId: [id],
          Tag: [{ Key: 'env', Value: 'dev' }],
        });
        await call(
          server,
          'UnTagResources',
          { ResourceType: 'TrafficMirrorSession', ResourceId: [id], TagKey: ['env'], All: true },
          mode,
        );
        assert.deepEqual(
          (await getSession(server, id))?.Tags,
          [{ Key: 'keep', Value: '2' }],
          'All applies only without TagKey.N',
        );
        await call(
          server,
          'UnTagResources',
          { ResourceType: 'TrafficMirrorSession', ResourceId: [id], All: true },
          mode,
        );
        assert.deepEqual((await getSession(server, id))?.Tags, []);
      });
    }

    test('TagResources and UnTagResources on filters, ResourceType TRAFFICMIRRORFILTER in any case', async () => {
      const a = await makeFilter(server);
      const b = await makeFilter(server);
      await call(server, 'TagResources', {
        ResourceType: 'TrafficMirrorFilter',
        ResourceId: [a, b],
        Tag: [{ Key: 'k', Value: 'v' }],
      });
      assert.deepEqual(await filterTags(server, a), [{ Key: 'k', Value: 'v' }]);
      assert.deepEqual(await filterTags(server, b), [{ Key: 'k', Value: 'v' }]);
      const listed = await call(server, 'ListTagResources', {
        ResourceType: 'TRAFFICMIRRORFILTER',
        Tag: [{ Key: 'k', Value: 'v' }],
      });
      const mine = tagResources(listed).filter((t) => t.ResourceId === a || t.ResourceId === b);
      assert.deepEqual(
        mine.map((t) => t.ResourceType),
        ['TRAFFICMIRRORFILTER', 'TRAFFICMIRRORFILTER'],
      );
      await call(server, 'UnTagResources', {
        ResourceType: 'trafficmirrorfilter',
        ResourceId: [a],
        All: true,
      });
      assert.deepEqual(await filterTags(server, a), []);
      assert.deepEqual(await filterTags(server, b), [{ Key: 'k', Value: 'v' }]);
    });

    test('tag keys are checked: InvalidTagKey for aliyun/acs: prefixes, http(s):// inside, empty or over 128 characters', async () => {
      const id = await makeSession(server, filter);
      for (const Key of ['aliyunx', 'ALIYUN-x', 'acs:x', 'a-http://b', 'x'.repeat(129), 'x'.repeat(10_001)]) {
        await expectCode(
          () =>
            call(server, 'TagResources', {
              ResourceType: 'TRAFFICMIRRORSESSION',
              ResourceId: [id],
              Tag: [{ Key, Value: 'v' }],
            }),
          'InvalidTagKey',
        );
      }
      for (const Value of ['acs:v', 'v'.repeat(129), 'v'.repeat(10_001)]) {
        await expectCode(
          () =>
            call(server, 'TagResources', {
              ResourceType: 'TRAFFICMIRRORSESSION',
              ResourceId: [id],
              Tag: [{ Key: 'k', Value }],
            }),
          'InvalidTagValue',
        );
      }
      assert.deepEqual((await getSession(server, id))?.Tags, []);
    });

    test('more than 20 Tag.N in one call is SizeLimitExceeded.TagNum; a resource over 20 tags is QuotaExceeded.TagNum', async () => {
      const id = await makeSession(server, filter);
      const tags = (n: number, prefix: string) =>
        Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${String(i).padStart(2, '0')}`, Value: 'v' }));
      await expectCode(
        () =>
          call(server, 'TagResources', {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: [id],
            Tag: tags(21, 'a'),
          }),
        'SizeLimitExceeded.TagNum',
      );
      await call(server, 'TagResources', {
        ResourceType: 'TRAFFICMIRRORSESSION',
        ResourceId: [id],
        Tag: tags(19, 'a'),
      });
      await expectCode(
        () =>
          call(server, 'TagResources', {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: [id],
            Tag: tags(2, 'b'),
          }),
        'QuotaExceeded.TagNum',
      );
      assert.equal((await getSession(server, id))?.Tags.length, 19, 'the refused call added nothing');
      // Overwriting existing keys does not count twice.
      await call(server, 'TagResources', {
        ResourceType: 'TRAFFICMIRRORSESSION',
        ResourceId: [id],
        Tag: tags(20, 'a'),
      });
      assert.equal((await getSession(server, id))?.Tags.length, 20);
    });

    test('the same key twice in one call is Forbidden.TagKey.Duplicated', async () => {
      const id = await makeSession(server, filter);
      await expectCode(
        () =>
          call(server, 'TagResources', {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: [id],
            Tag: [
              { Key: 'k', Value: '1' },
              { Key: 'k', Value: '2' },
            ],
          }),
        'Forbidden.TagKey.Duplicated',
      );
    });

    test('more than 50 ResourceId.N is SizeLimitExceeded.ResourceId', async () => {
      const ids = Array.from({ length: 51 }, (_, i) => `tms-x${i}`);
      await expectCode(
        () =>
          call(server, 'TagResources', {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: ids,
            Tag: [{ Key: 'k', Value: 'v' }],
          }),
        'SizeLimitExceeded.ResourceId',
      );
    });

    test('an unknown ResourceType is InvalidParameter, and IllegalParam.ResourceType for MoveResourceGroup', async () => {
      const id = await makeSession(server, filter);
      for (const action of ['TagResources', 'ListTagResources']) {
        await expectCode(
          () =>
            call(server, action, { ResourceType: 'VPC', ResourceId: [id], Tag: [{ Key: 'k', Value: 'v' }] }),
          'InvalidParameter',
        );
      }
      await expectCode(
        () =>
          call(server, 'MoveResourceGroup', {
            ResourceType: 'Vpc',
            ResourceId: id,
            NewResourceGroupId: 'rg-abcde1',
          }),
        'IllegalParam.ResourceType',
      );
    });

    test('an unknown, foreign or other-region resource is ResourceNotFound.TrafficMirrorSession / ResourceNotFound.TrafficMirrorFilter, and InvalidResourceId.NotFound for MoveResourceGroup', async () => {
      const id = await makeSession(server, filter);
      const unknownSession = 'tms-doesnotexist0000000';
      const other = await addAccount(server);
      const foreignFilter = await makeFilter(server, { creds: other });
      const shanghaiFilter = await makeFilter(server, { regionId: 'cn-shanghai' });
      const cases: Array<[string, string[], string]> = [
        ['TRAFFICMIRRORSESSION', [id, unknownSession], 'ResourceNotFound.TrafficMirrorSession'],
        ['TRAFFICMIRRORSESSION', [filter], 'ResourceNotFound.TrafficMirrorSession'],
        ['TRAFFICMIRRORFILTER', [foreignFilter], 'ResourceNotFound.TrafficMirrorFilter'],
        ['TRAFFICMIRRORFILTER', [shanghaiFilter], 'ResourceNotFound.TrafficMirrorFilter'],
      ];
      for (const [ResourceType, ResourceId, code] of cases) {
        await expectCode(
          () => call(server, 'TagResources', { ResourceType, ResourceId, Tag: [{ Key: 'k', Value: 'v' }] }),
          code,
        );
        await expectCode(() => call(server, 'UnTagResources', { ResourceType, ResourceId, All: true }), code);
        await expectCode(
          () =>
            call(server, 'MoveResourceGroup', {
              ResourceType,
              ResourceId: ResourceId.at(-1),
              NewResourceGroupId: 'rg-abcde1',
            }),
          'InvalidResourceId.NotFound',
        );
      }
      assert.deepEqual((await getSession(server, id))?.Tags, [], 'a refused call tags none of its resources');
    });

    const ending = [
      {
        kind: 'session',
        type: 'TRAFFICMIRRORSESSION',
        code: 'ResourceNotFound.TrafficMirrorSession',
        async deleting(): Promise<string> {
          const id = await makeSession(server, filter);
          await deleteCall(server, id);
          return id;
        },
        applier: sessionAppliers,
      },
      {
        kind: 'filter',
        type: 'TRAFFICMIRRORFILTER',
        code: 'ResourceNotFound.TrafficMirrorFilter',
        async deleting(): Promise<string> {
          const id = await makeFilter(server);
          await call(server, 'DeleteTrafficMirrorFilter', { TrafficMirrorFilterId: id });
          return id;
        },
        applier: filterAppliers,
      },
    ] as const;
    for (const r of ending) {
      test(`TagResources racing with the end of a ${r.kind} delete (another node, uncommitted) waits for it, is ${r.code} and leaves no tag behind`, {
        skip: storeKind === 'sqlite' && 'SQLite runs one write transaction at a time',
      }, async () => {
        const id = await r.deleting();
        let tagging: Promise<unknown> | undefined;
        // The transition worker of another node removing the resource, not yet committed.
        await server.store.db.transaction().execute(async (trx) => {
          await r.applier.delete(trx, id);
          let settled = false;
          tagging = call(server, 'TagResources', {
            ResourceType: r.type,
            ResourceId: [id],
            Tag: [{ Key: 'late', Value: 'v' }],
          }).finally(() => {
            settled = true;
          });
          tagging.catch(() => undefined);
          // Commit once the call either finished (the race lost) or waits for this transaction.
          await untilWaiting(trx, () => settled, {
            what: 'TagResources, racing with the delete,',
            mayFinish: true,
          });
        });
        await expectCode(() => tagging ?? Promise.resolve(), r.code);
        const left = await server.store.db
          .selectFrom('tags')
          .select('tag_key')
          .where('resource_id', '=', id)
          .execute();
        assert.deepEqual(left, []);
      });
    }

    for (const r of ending) {
      test(`the end of a ${r.kind} delete racing with an uncommitted TagResources (another node) waits for it and removes the tag it added`, {
        skip: storeKind === 'sqlite' && 'SQLite runs one write transaction at a time',
      }, async () => {
        const id = await r.deleting();
        const table = r.kind === 'session' ? 'traffic_mirror_sessions' : 'traffic_mirror_filters';
        let removing: Promise<void> | undefined;
        await server.store.db.transaction().execute(async (trx) => {
          // What TagResources does on another node: hold the resource's row, then write the tag.
          await trx
            .updateTable(table)
            .set((eb) => ({ resource_group_id: eb.ref('resource_group_id') }))
            .where('id', '=', id)
            .execute();
          await putTags(
            trx,
            { resourceType: r.type, resourceId: id, accountId: server.accountId, regionId: REGION },
            [{ key: 'late', value: 'v' }],
          );
          let settled = false;
          removing = server.store.db
            .transaction()
            .execute((t) => r.applier.delete(t, id))
            .finally(() => {
              settled = true;
            });
          removing.catch(() => undefined);
          // Commit once the removal waits for this transaction.
          await untilWaiting(trx, () => settled, { what: 'the removal, racing with the uncommitted tag,' });
        });
        await removing;
        const left = await server.store.db
          .selectFrom('tags')
          .select('tag_key')
          .where('resource_id', '=', id)
          .execute();
        assert.deepEqual(left, [], 'no tag outlives its resource');
        const rows = await server.store.db.selectFrom(table).select('id').where('id', '=', id).execute();
        assert.deepEqual(rows, []);
      });
    }

    test('ListTagResources by several Tag.N lists only resources carrying all of them, with the tags asked for', async () => {
      const both = await makeSession(server, filter, {
        Tag: [
          { Key: 'andenv', Value: 'prod' },
          { Key: 'andteam', Value: 'x' },
          { Key: 'andother', Value: 'o' },
        ],
      });
      const envOnly = await makeSession(server, filter, { Tag: [{ Key: 'andenv', Value: 'prod' }] });
      const otherTeam = await makeSession(server, filter, {
        Tag: [
          { Key: 'andenv', Value: 'prod' },
          { Key: 'andteam', Value: 'y' },
        ],
      });
      const list = async (params: Record<string, unknown>) =>
        tagResources(
          await call(server, 'ListTagResources', { ResourceType: 'TRAFFICMIRRORSESSION', ...params }),
        )
          .map((t) => `${t.ResourceId} ${t.TagKey}=${t.TagValue}`)
          .sort();
      const row = (id: string, tag: string) => `${id} ${tag}`;
      assert.deepEqual(
        await list({
          Tag: [
            { Key: 'andenv', Value: 'prod' },
            { Key: 'andteam', Value: 'x' },
          ],
        }),
        [row(both, 'andenv=prod'), row(both, 'andteam=x')],
      );
      assert.deepEqual(
        await list({ Tag: [{ Key: 'andenv', Value: 'prod' }, { Key: 'andteam' }] }),
        [
          row(both, 'andenv=prod'),
          row(both, 'andteam=x'),
          row(otherTeam, 'andenv=prod'),
          row(otherTeam, 'andteam=y'),
        ].sort(),
      );
      assert.deepEqual(
        await list({
          ResourceId: [both, envOnly, otherTeam],
          Tag: [{ Key: 'andteam' }, { Key: 'andother' }],
        }),
        [row(both, 'andother=o'), row(both, 'andteam=x')],
      );
      assert.deepEqual(
        await list({ ResourceId: [envOnly, otherTeam], Tag: [{ Key: 'andenv', Value: 'prod' }] }),
        [row(envOnly, 'andenv=prod'), row(otherTeam, 'andenv=prod')].sort(),
      );
      // One row a page: every row of the matching resources, once, in order.
      const walked: string[] = [];
      let token = '';
      for (let pages = 0; pages < 10; pages++) {
        const body = await call(server, 'ListTagResources', {
          ResourceType: 'TRAFFICMIRRORSESSION',
          Tag: [{ Key: 'andenv', Value: 'prod' }, { Key: 'andteam' }],
          MaxResults: 1,
          ...(token ? { NextToken: token } : {}),
        });
        walked.push(...tagResources(body).map((t) => `${t.ResourceId} ${t.TagKey}=${t.TagValue}`));
        token = String(body.NextToken);
        if (token === '') break;
      }
      // By resource id, then key: ids have one length, so the rows' text sorts the same way.
      assert.deepEqual(
        walked,
        [
          row(both, 'andenv=prod'),
          row(both, 'andteam=x'),
          row(otherTeam, 'andenv=prod'),
          row(otherTeam, 'andteam=y'),
        ].sort(),
      );
    });

    test('ListTagResources needs ResourceId.N or Tag.N, pages with MaxResults 1-50, and refuses a bad NextToken', async () => {
      await expectCode(
        () => call(server, 'ListTagResources', { ResourceType: 'TRAFFICMIRRORSESSION' }),
        'MissingParameter',
      );
      // Missing before malformed.
      await expectCode(
        () =>
          call(
            server,
            'ListTagResources',
            { ResourceType: 'TRAFFICMIRRORSESSION', MaxResults: 'abc' },
            'pop-post',
          ),
        'MissingParameter',
      );
      // A parameter mistake, answered before RAM: also to a caller RAM would refuse.
      const denied = await addRamUser(server, [{ Effect: 'Deny', Action: '*', Resource: '*' }]);
      await expectCode(
        () =>
          callVia('vpc-v3', denied, 'ListTagResources', {
            RegionId: REGION,
            ResourceType: 'TRAFFICMIRRORSESSION',
          }),
        'MissingParameter',
      );
      const id = await makeSession(server, filter, {
        Tag: Array.from({ length: 5 }, (_, i) => ({ Key: `p${i}`, Value: `${i}` })),
      });
      // An id of any length that names nothing matches nothing: a search, not a reference.
      const unknown = await call(server, 'ListTagResources', {
        ResourceType: 'TRAFFICMIRRORSESSION',
        ResourceId: [`tms-${'u'.repeat(300)}`],
      });
      assert.deepEqual(tagResources(unknown), []);
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const body = await call(
          server,
          'ListTagResources',
          {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: [id],
            MaxResults: 2,
            ...(token ? { NextToken: token } : {}),
          },
          'pop-get',
        );
        seen.push(...tagResources(body).map((t) => t.TagKey));
        token = String(body.NextToken);
        pages += 1;
      } while (token !== '' && pages < 10);
      assert.deepEqual(seen, ['p0', 'p1', 'p2', 'p3', 'p4']);
      assert.equal(pages, 3);
      await expectCode(
        () =>
          call(server, 'ListTagResources', {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: [id],
            MaxResults: 51,
          }),
        'InvalidParameter',
      );
      await expectCode(
        () =>
          call(server, 'ListTagResources', {
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: [id],
            NextToken: 'nope',
          }),
        'IllegalParam.NextToken',
      );
      // Longer than any token a page hands out: still a bad token, not a bad parameter.
      for (const [action, extra] of [
        [
          'ListTagResources',
          { ResourceType: 'TRAFFICMIRRORSESSION', ResourceId: [id], NextToken: 'x'.repeat(3000) },
        ],
        ['ListTrafficMirrorSessions', { NextToken: 'x'.repeat(300) }],
        ['ListTrafficMirrorFilters', { NextToken: 'x'.repeat(300) }],
      ] as const) {
        await expectCode(() => call(server, action, extra), 'IllegalParam.NextToken');
      }
    });

    test('a ListTagResources NextToken says nothing readable, and works only for the account and ResourceType it came from', async () => {
      const id = await makeSession(server, filter, {
        Tag: [
          { Key: 'sealed-a', Value: '1' },
          { Key: 'sealed-b', Value: '2' },
        ],
      });
      const ask = { ResourceType: 'TRAFFICMIRRORSESSION', ResourceId: [id], MaxResults: 1 };
      const first = await call(server, 'ListTagResources', ask);
      const token = String(first.NextToken);
      assert.notEqual(token, '');
      assert.doesNotMatch(Buffer.from(token, 'base64url').toString('latin1'), /tg1|sealed-a|tms-/);
      const second = await call(server, 'ListTagResources', { ...ask, NextToken: token });
      assert.deepEqual(
        tagResources(second).map((t) => t.TagKey),
        ['sealed-b'],
      );
      const other = await addAccount(server);
      await expectCode(
        () => callVia('vpc-v3', other, 'ListTagResources', { RegionId: REGION, ...ask, NextToken: token }),
        'IllegalParam.NextToken',
      );
      await expectCode(
        () =>
          call(server, 'ListTagResources', { ...ask, ResourceType: 'TRAFFICMIRRORFILTER', NextToken: token }),
        'IllegalParam.NextToken',
      );
      // The readable form of earlier versions, naming a position of this very list, is made up.
      const madeUp = Buffer.from(JSON.stringify(['tg1', id, 'sealed-a'])).toString('base64url');
      await expectCode(
        () => call(server, 'ListTagResources', { ...ask, NextToken: madeUp }),
        'IllegalParam.NextToken',
      );
      const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
      await expectCode(
        () => call(server, 'ListTagResources', { ...ask, NextToken: flipped }),
        'IllegalParam.NextToken',
      );
    });

    test('ListTagResources walks past tags whose keys make a long NextToken (128 characters of 3 UTF-8 bytes)', async () => {
      const keys = ['标'.repeat(128), '签'.repeat(128), '键'.repeat(128)];
      const id = await makeSession(server, filter, { Tag: keys.map((Key) => ({ Key, Value: 'v' })) });
      const seen: string[] = [];
      const tokens: string[] = [];
      let token = '';
      do {
        const body = await call(server, 'ListTagResources', {
          ResourceType: 'TRAFFICMIRRORSESSION',
          ResourceId: [id],
          MaxResults: 1,
          ...(token ? { NextToken: token } : {}),
        });
        seen.push(...tagResources(body).map((t) => t.TagKey));
        token = String(body.NextToken);
        if (token !== '') tokens.push(token);
      } while (token !== '' && seen.length < 10);
      assert.deepEqual(new Set(seen), new Set(keys));
      assert.equal(seen.length, 3);
      assert.ok(Math.max(...tokens.map((t) => t.length)) > 512, 'the tokens this test walks are long ones');
    });

    for (const mode of CLIENT_MODES) {
      test(`MoveResourceGroup moves a session and a filter, with any ResourceType case, through ${mode}`, async () => {
        const id = await makeSession(server, filter);
        const f = await makeFilter(server);
        await call(
          server,
          'MoveResourceGroup',
          { ResourceType: 'TrafficMirrorSession', ResourceId: id, NewResourceGroupId: 'rg-moved12345' },
          mode,
        );
        await call(
          server,
          'MoveResourceGroup',
          { ResourceType: 'TRAFFICMIRRORFILTER', ResourceId: f, NewResourceGroupId: 'rg-moved12345' },
          mode,
        );
        assert.equal((await getSession(server, id))?.ResourceGroupId, 'rg-moved12345');
        const byGroup = await call(
          server,
          'ListTrafficMirrorSessions',
          { ResourceGroupId: 'rg-moved12345', TrafficMirrorSessionIds: [id] },
          mode,
        );
        assert.equal(byGroup.TotalCount, '1');
        const filters = await call(server, 'ListTrafficMirrorFilters', { TrafficMirrorFilterIds: [f] }, mode);
        assert.equal(
          (filters.TrafficMirrorFilters as Array<Record<string, unknown>>)[0]?.ResourceGroupId,
          'rg-moved12345',
        );
      });
    }

    test('the typed ListTagResources and MoveResourceGroup models of @alicloud/vpc20160428 read the answers: the wrapped TagResources.TagResource[] and its values, then the RequestId', async () => {
      const id = await makeSession(server, filter, { Tag: [{ Key: 'typed', Value: '1' }] });
      const client = vpcClient(server, 'v1');
      const listed = await client.listTagResources(
        new Vpc.ListTagResourcesRequest({
          regionId: REGION,
          resourceType: 'TRAFFICMIRRORSESSION',
          resourceId: [id],
        }),
      );
      assert.deepEqual(
        listed.body?.tagResources?.tagResource?.map((t) => [
          t.resourceId,
          t.resourceType,
          t.tagKey,
          t.tagValue,
        ]),
        [[id, 'TRAFFICMIRRORSESSION', 'typed', '1']],
      );
      assert.equal(listed.body?.nextToken, '');
      const moved = await client.moveResourceGroup(
        new Vpc.MoveResourceGroupRequest({
          regionId: REGION,
          resourceType: 'TrafficMirrorSession',
          resourceId: id,
          newResourceGroupId: 'rg-typed12345',
        }),
      );
      assert.equal(moved.statusCode, 200);
      assert.match(moved.body?.requestId ?? '', REQUEST_ID);
      assert.equal((await getSession(server, id))?.ResourceGroupId, 'rg-typed12345');
    });

    test('MoveResourceGroup to a malformed group is InvalidResourceGroupId and moves nothing', async () => {
      const id = await makeSession(server, filter);
      const before = (await getSession(server, id))?.ResourceGroupId;
      for (const group of ['group1', 'rg-', 'rg-UPPER', 'rg-x', `rg-${'a'.repeat(62)}`]) {
        await expectCode(
          () =>
            call(server, 'MoveResourceGroup', {
              ResourceType: 'TrafficMirrorSession',
              ResourceId: id,
              NewResourceGroupId: group,
            }),
          'InvalidResourceGroupId',
        );
      }
      assert.equal((await getSession(server, id))?.ResourceGroupId, before);
    });
  });
}

/**
 * The order of tags is the same on both stores, by code point, whatever the PostgreSQL database's
 * collation: here one whose language order (ICU en-US) puts "_x" first and "a" before "B".
 */
describe('tags are listed in code point order on every store', () => {
  const keys = ['b', 'B', '_x', 'a b', 'Z', 'a-c', 'é', 'A', 'ab', 'e', 'a'];
  for (const storeKind of testStores()) {
    test(`Tags of a List item and ListTagResources pages [${storeKind}${storeKind === 'postgres' ? ', ICU en-US database' : ''}]`, async () => {
      let dropDatabase = async () => {};
      let database: { location: string } | undefined;
      if (storeKind === 'postgres') {
        const scratch = await scratchPgDatabase({
          create: "template template0 locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'",
        });
        database = { location: scratch.location };
        dropDatabase = () => scratch.drop();
      }
      try {
        const server = await startTestServer({
          store: storeKind,
          flags: { transitions: '0' },
          ...(database ? { database } : {}),
        });
        try {
          const filters = [await makeFilter(server), await makeFilter(server)];
          await call(server, 'TagResources', {
            ResourceType: 'TrafficMirrorFilter',
            ResourceId: filters,
            Tag: keys.map((key) => ({ Key: key, Value: 'v' })),
          });
          const inOrder = [...keys].sort();
          assert.deepEqual(
            ((await filterTags(server, filters[0] ?? '')) as Array<{ Key: string }>).map((t) => t.Key),
            inOrder,
          );
          const session = await makeSession(server, filters[0] ?? '');
          await call(server, 'TagResources', {
            ResourceType: 'TrafficMirrorSession',
            ResourceId: [session],
            Tag: keys.map((key) => ({ Key: key, Value: 'v' })),
          });
          const listed = await call(server, 'ListTrafficMirrorSessions', {
            TrafficMirrorSessionIds: [session],
          });
          const sessionTags = (listed.TrafficMirrorSessions as Array<{ Tags: Array<{ Key: string }> }>)[0]
            ?.Tags;
          assert.deepEqual(
            sessionTags?.map((t) => t.Key),
            inOrder,
          );
          const walked: string[] = [];
          let token: string | undefined;
          do {
            const page = await call(server, 'ListTagResources', {
              ResourceType: 'TrafficMirrorFilter',
              ResourceId: filters,
              MaxResults: 3,
              ...(token ? { NextToken: token } : {}),
            });
            for (const t of tagResources(page)) walked.push(`${t.ResourceId} ${t.TagKey}`);
            token = typeof page.NextToken === 'string' && page.NextToken !== '' ? page.NextToken : undefined;
          } while (token);
          const sortedIds = [...filters].sort();
          assert.deepEqual(
            walked,
            sortedIds.flatMap((id) => inOrder.map((key) => `${id} ${key}`)),
          );
        } finally {
          await server.close();
        }
      } finally {
        await dropDatabase();
      }
    });
  }
});
