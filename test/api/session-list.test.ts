/**
 * ListTrafficMirrorSessions through the official clients: every filter, the response shape
 * (flat arrays, TotalCount as a string, no MaxResults echo), and keyset pagination that stays
 * correct while sessions are created and deleted between pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLIENT_MODES, type ClientMode, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';
import { addAccount, deleteCall, makeFilter, makeSession, REGION, type Session } from './session-fixtures.js';

function list(
  server: TestServer,
  params: Record<string, unknown>,
  mode: ClientMode = 'vpc-v3',
): Promise<Record<string, unknown>> {
  return callVia(mode, server, 'ListTrafficMirrorSessions', { RegionId: REGION, ...params });
}

function idsOf(body: Record<string, unknown>): string[] {
  const sessions = body.TrafficMirrorSessions;
  assert.ok(Array.isArray(sessions));
  return (sessions as Session[]).map((s) => s.TrafficMirrorSessionId);
}

/** Walks every page; returns the ids in the order listed and the number of pages. */
async function walk(
  server: TestServer,
  params: Record<string, unknown>,
  between?: (page: number) => Promise<void>,
  mode: ClientMode = 'vpc-v3',
): Promise<{ ids: string[]; pages: number; totals: unknown[] }> {
  const ids: string[] = [];
  const totals: unknown[] = [];
  let token: string | undefined;
  let pages = 0;
  for (;;) {
    const body = await list(server, { ...params, ...(token ? { NextToken: token } : {}) }, mode);
    pages += 1;
    ids.push(...idsOf(body));
    totals.push(body.TotalCount);
    token = String(body.NextToken ?? '');
    if (token === '') return { ids, pages, totals };
    if (between) await between(pages);
    assert.ok(pages < 100, 'pagination terminates');
  }
}

for (const storeKind of testStores()) {
  describe(`ListTrafficMirrorSessions [${storeKind}]`, () => {
    let server: TestServer;
    let filterA: string;
    let filterB: string;
    /** Sessions with known, distinct attributes; created once for the filter tests. */
    const s: Record<string, string> = {};

    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      filterA = await makeFilter(server);
      filterB = await makeFilter(server);
      s.alpha = await makeSession(server, filterA, {
        TrafficMirrorSessionName: 'alpha',
        TrafficMirrorSourceIds: ['eni-lista', 'eni-shared'],
        TrafficMirrorTargetId: 'eni-targeta',
        VirtualNetworkId: 1001,
        Priority: 501,
        Enabled: true,
        ResourceGroupId: 'rg-listgroup1',
        Tag: [
          { Key: 'env', Value: 'prod' },
          { Key: 'team', Value: 'net' },
        ],
      });
      s.alphabet = await makeSession(server, filterB, {
        TrafficMirrorSessionName: 'alphabet',
        TrafficMirrorSourceIds: ['eni-listb', 'eni-shared'],
        TrafficMirrorTargetId: 'lb-targetb',
        TrafficMirrorTargetType: 'SLB',
        VirtualNetworkId: 1002,
        Priority: 502,
        Tag: [{ Key: 'env', Value: 'dev' }],
      });
      s.gamma = await makeSession(server, filterA, {
        TrafficMirrorSessionName: 'gamma',
        TrafficMirrorSourceIds: ['eni-listc'],
        TrafficMirrorTargetId: 'eni-targeta',
        VirtualNetworkId: 1001,
        Priority: 503,
        Enabled: true,
        Tag: [{ Key: 'team', Value: 'sec' }],
      });
    });
    after(() => server.close());

    const scoped = { TrafficMirrorSessionIds: [] as string[] };
    const filterCases: Array<[string, () => Record<string, unknown>, string[]]> = [
      [
        'TrafficMirrorSessionName matches exactly, not by prefix',
        () => ({ TrafficMirrorSessionName: 'alpha' }),
        ['alpha'],
      ],
      [
        'TrafficMirrorSourceId matches sessions that mirror the ENI',
        () => ({ TrafficMirrorSourceId: 'eni-shared' }),
        ['alpha', 'alphabet'],
      ],
      ['TrafficMirrorTargetId', () => ({ TrafficMirrorTargetId: 'eni-targeta' }), ['alpha', 'gamma']],
      ['TrafficMirrorFilterId', () => ({ TrafficMirrorFilterId: filterB }), ['alphabet']],
      ['VirtualNetworkId', () => ({ VirtualNetworkId: 1001 }), ['alpha', 'gamma']],
      ['Priority', () => ({ Priority: 502 }), ['alphabet']],
      ['Enabled=true', () => ({ Enabled: true, ...scoped }), ['alpha', 'gamma']],
      ['Enabled=false', () => ({ Enabled: false, ...scoped }), ['alphabet']],
      ['ResourceGroupId', () => ({ ResourceGroupId: 'rg-listgroup1' }), ['alpha']],
      ['Tags.N.Key alone matches any value', () => ({ Tags: [{ Key: 'env' }] }), ['alpha', 'alphabet']],
      ['Tags.N.Key and Value', () => ({ Tags: [{ Key: 'env', Value: 'prod' }] }), ['alpha']],
      [
        'several Tags.N must all match',
        () => ({
          Tags: [
            { Key: 'team', Value: 'net' },
            { Key: 'env', Value: 'prod' },
          ],
        }),
        ['alpha'],
      ],
      ['filters combine', () => ({ TrafficMirrorTargetId: 'eni-targeta', Priority: 503 }), ['gamma']],
      ['no match is an empty list', () => ({ TrafficMirrorSessionName: 'alp' }), []],
    ];
    for (const [what, params, expected] of filterCases) {
      test(`List filters by ${what}`, async () => {
        scoped.TrafficMirrorSessionIds = [s.alpha ?? '', s.alphabet ?? '', s.gamma ?? ''];
        for (const mode of CLIENT_MODES) {
          const body = await list(server, params(), mode);
          assert.deepEqual(
            idsOf(body),
            expected.map((k) => s[k]),
            mode,
          );
          assert.equal(body.TotalCount, String(expected.length));
        }
      });
    }

    test('List by TrafficMirrorSessionIds returns those sessions in creation order; unknown ids are simply absent', async () => {
      const body = await list(server, {
        TrafficMirrorSessionIds: [s.gamma, 'tms-doesnotexist0000000', s.alpha, s.alpha],
      });
      assert.deepEqual(idsOf(body), [s.alpha, s.gamma]);
      assert.equal(body.TotalCount, '2');
      const none = await list(server, { TrafficMirrorSessionIds: ['tms-doesnotexist0000000'] }, 'pop-get');
      assert.deepEqual(none.TrafficMirrorSessions, []);
      assert.equal(none.TotalCount, '0');
      assert.equal(none.NextToken, '');
      // However long: an id longer than any the service issues names nothing, and is absent too.
      const long = await list(server, {
        TrafficMirrorSessionIds: [`tms-${'x'.repeat(300)}`, s.alpha],
        TrafficMirrorFilterId: `tmf-${'y'.repeat(300)}`,
      });
      assert.deepEqual(idsOf(long), []);
      const longId = await list(server, { TrafficMirrorSessionIds: [`tms-${'x'.repeat(300)}`, s.alpha] });
      assert.deepEqual(idsOf(longId), [s.alpha]);
    });

    test('a list sent under its bare name, as the aliyun CLI sends a list flag without its index, is InvalidParameter naming it, not ignored', async () => {
      for (const mode of ['pop-get', 'pop-post'] as const) {
        const err = await expectCode(
          () => list(server, { TrafficMirrorSessionIds: String(s.alpha) }, mode),
          'InvalidParameter',
        );
        assert.match(String(err.message), /\bTrafficMirrorSessionIds\b/);
        await expectCode(() => list(server, { Tags: '[{"Key":"k","Value":"v"}]' }, mode), 'InvalidParameter');
      }
      // Empty, it asks for nothing, and the List is whole; so does what pop-core sends for a
      // property left undefined or null ("undefined", "null").
      const whole = idsOf(await list(server, {}, 'pop-get'));
      assert.ok(whole.length >= 3);
      for (const nothing of ['', undefined, null])
        assert.deepEqual(idsOf(await list(server, { TrafficMirrorSessionIds: nothing }, 'pop-get')), whole);
    });

    test('List takes up to 100 TrafficMirrorSessionIds; 101 is InvalidParameter', async () => {
      const hundred = Array.from({ length: 100 }, (_, i) => `tms-unknown${i}`);
      hundred[99] = s.gamma ?? '';
      assert.deepEqual(idsOf(await list(server, { TrafficMirrorSessionIds: hundred }, 'pop-post')), [
        s.gamma,
      ]);
      await expectCode(
        () => list(server, { TrafficMirrorSessionIds: [...hundred, 'tms-x'] }),
        'InvalidParameter',
      );
    });

    test('List shows every field of a session, with flat arrays and TotalCount as a string, and no MaxResults echo', async () => {
      for (const mode of CLIENT_MODES) {
        const body = await list(server, { TrafficMirrorSessionIds: [s.alpha], MaxResults: 5 }, mode);
        assert.deepEqual(Object.keys(body).sort(), [
          'NextToken',
          'RequestId',
          'TotalCount',
          'TrafficMirrorSessions',
        ]);
        assert.equal(body.TotalCount, '1');
        const item = (body.TrafficMirrorSessions as Session[])[0];
        assert.ok(item);
        assert.deepEqual(Object.keys(item).sort(), [
          'CreationTime',
          'Enabled',
          'PacketLength',
          'Priority',
          'ResourceGroupId',
          'Tags',
          'TrafficMirrorFilterId',
          'TrafficMirrorSessionBusinessStatus',
          'TrafficMirrorSessionDescription',
          'TrafficMirrorSessionId',
          'TrafficMirrorSessionName',
          'TrafficMirrorSessionStatus',
          'TrafficMirrorSourceIds',
          'TrafficMirrorTargetId',
          'TrafficMirrorTargetType',
          'VirtualNetworkId',
        ]);
        assert.deepEqual(item.TrafficMirrorSourceIds, ['eni-lista', 'eni-shared']);
        assert.deepEqual(item.Tags, [
          { Key: 'env', Value: 'prod' },
          { Key: 'team', Value: 'net' },
        ]);
        assert.equal(item.Enabled, true);
        assert.equal(item.VirtualNetworkId, 1001);
        assert.equal(item.Priority, 501);
        assert.equal(item.TrafficMirrorSessionStatus, 'Created');
      }
    });

    test('List shows only the caller account and region', async () => {
      const other = await addAccount(server);
      const body = await callVia('vpc-v3', other, 'ListTrafficMirrorSessions', { RegionId: REGION });
      assert.deepEqual(body.TrafficMirrorSessions, []);
      assert.equal(body.TotalCount, '0');
      const shanghai = await list(server, { RegionId: 'cn-shanghai', TrafficMirrorSessionIds: [s.alpha] });
      assert.deepEqual(shanghai.TrafficMirrorSessions, []);
    });

    test('List checks MaxResults 1-100 (InvalidParameter) and a bad NextToken is IllegalParam.NextToken', async () => {
      await expectCode(() => list(server, { MaxResults: 0 }), 'InvalidParameter');
      await expectCode(() => list(server, { MaxResults: 101 }), 'InvalidParameter');
      assert.equal(idsOf(await list(server, { MaxResults: 100 })).length, 3);
      for (const token of ['garbage', Buffer.from('tm1:abc').toString('base64url'), 'dG0xOjE=']) {
        for (const mode of CLIENT_MODES) {
          const err = await expectCode(
            () => list(server, { NextToken: token }, mode),
            'IllegalParam.NextToken',
          );
          assert.ok(String(err.message).includes('The specified NextToken is invalid.'));
        }
      }
    });

    test('a NextToken says nothing readable, and works only for the account and the list it came from', async () => {
      const first = await list(server, { MaxResults: 1 });
      const again = await list(server, { MaxResults: 1 });
      const token = String(first.NextToken);
      assert.notEqual(token, '');
      // Sealed with a fresh IV each time: the same position gives different tokens, both good.
      assert.notEqual(again.NextToken, token);
      assert.doesNotMatch(Buffer.from(token, 'base64url').toString('latin1'), /tm1|^\d+$/);
      const second = idsOf(await list(server, { MaxResults: 1, NextToken: token }));
      assert.deepEqual(
        idsOf(await list(server, { MaxResults: 1, NextToken: String(again.NextToken) })),
        second,
      );
      assert.equal(second.length, 1);
      assert.notDeepEqual(second, idsOf(first));
      // Another account, or another list of the same account, cannot use it.
      const other = await addAccount(server);
      await expectCode(
        () => callVia('vpc-v3', other, 'ListTrafficMirrorSessions', { RegionId: REGION, NextToken: token }),
        'IllegalParam.NextToken',
      );
      await expectCode(
        () => callVia('vpc-v3', server, 'ListTrafficMirrorFilters', { RegionId: REGION, NextToken: token }),
        'IllegalParam.NextToken',
      );
      // One changed character is a token that does not open.
      const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
      await expectCode(() => list(server, { MaxResults: 1, NextToken: flipped }), 'IllegalParam.NextToken');
    });

    test('List with more than 20 Tags.N is SizeLimitExceeded.TagNum', async () => {
      const tags = Array.from({ length: 21 }, (_, i) => ({ Key: `k${i}` }));
      await expectCode(() => list(server, { Tags: tags }), 'SizeLimitExceeded.TagNum');
    });

    describe('pagination', () => {
      const region = 'cn-chengdu';
      let filter: string;
      let created: string[] = [];
      before(async () => {
        filter = await makeFilter(server, { regionId: region });
        created = [];
        for (let i = 0; i < 25; i++)
          created.push(await makeSession(server, filter, {}, { regionId: region }));
      });

      test('List pages by 10 by default: 10, 10, 5, each page with the full TotalCount and the last with an empty NextToken', async () => {
        for (const mode of CLIENT_MODES) {
          const first = await list(server, { RegionId: region }, mode);
          assert.equal(idsOf(first).length, 10);
          assert.notEqual(first.NextToken, '');
          const all = await walk(server, { RegionId: region }, undefined, mode);
          assert.deepEqual(all.ids, created);
          assert.equal(all.pages, 3);
          assert.deepEqual(all.totals, ['25', '25', '25']);
        }
      });

      test('List with MaxResults 1 walks every session once; exactly a full last page ends with an empty NextToken', async () => {
        const one = await walk(server, { RegionId: region, MaxResults: 1 });
        assert.deepEqual(one.ids, created);
        assert.equal(one.pages, 25);
        const five = await walk(server, { RegionId: region, MaxResults: 5 });
        assert.equal(five.pages, 5);
        assert.deepEqual(five.ids, created);
      });

      test('List pages stay correct while sessions are created and deleted between pages', async () => {
        const removed: string[] = [];
        const added: string[] = [];
        const { ids } = await walk(server, { RegionId: region, MaxResults: 7 }, async (page) => {
          if (page !== 1) return;
          // One already listed and one not yet listed disappear; two new ones appear.
          for (const id of [created[2], created[12]]) {
            if (!id) continue;
            await deleteCall(server, id, {}, { regionId: region });
            await server.advance({ resourceId: id });
            removed.push(id);
          }
          for (let i = 0; i < 2; i++) added.push(await makeSession(server, filter, {}, { regionId: region }));
        });
        const expected = [...created.filter((id) => id !== created[12]), ...added];
        assert.deepEqual(ids, expected);
        assert.equal(new Set(ids).size, ids.length, 'no session listed twice');
        created = [...created.filter((id) => !removed.includes(id)), ...added];
      });

      test('a NextToken also pages a filtered list', async () => {
        const some = created.slice(0, 12);
        const { ids, pages } = await walk(server, {
          RegionId: region,
          TrafficMirrorSessionIds: some,
          MaxResults: 5,
        });
        assert.deepEqual(ids, some);
        assert.equal(pages, 3);
      });
    });
  });
}
