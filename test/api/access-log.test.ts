/**
 * What the log says about requests: the access line names the caller's address, and at
 * `--log-level debug` a detail line adds the parameters as read (signature left out, security token
 * hidden) and the error's message, and applied transitions are logged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { issueTemporaryCredentials } from '../../src/accounts/accounts.service.js';
import { SIGNATURE_MISMATCH_PREFIX } from '../../src/protocol/errors.js';
import { callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Line = Record<string, unknown>;

function parsed(sink: readonly string[]): Line[] {
  return sink
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/** Log lines are written after the answer: wait a few turns for the one wanted. */
async function lineWhere(sink: readonly string[], match: (l: Line) => boolean): Promise<Line> {
  for (let i = 0; i < 100; i++) {
    const line = parsed(sink).find(match);
    if (line) return line;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('no such log line');
}

describe('the log of requests', () => {
  const lines: string[] = [];
  const quietLines: string[] = [];
  let server: TestServer;
  let quiet: TestServer;

  before(async () => {
    server = await startTestServer({
      flags: { 'log-level': 'debug', transitions: 'manual' },
      logSink: lines,
    });
    quiet = await startTestServer({ logSink: quietLines });
  });
  after(async () => {
    await server?.close();
    await quiet?.close();
  });

  const detailOf = (requestId: unknown) =>
    lineWhere(lines, (l) => l.msg === 'request detail' && l.requestId === requestId);
  const accessLineWith = (code: string) => lineWhere(lines, (l) => l.msg === 'request' && l.code === code);

  test('the access line names the address the request came from', async () => {
    const body = await callVia('vpc-v3', server, 'DescribeRegions', {});
    const line = await lineWhere(lines, (l) => l.msg === 'request' && l.requestId === body.RequestId);
    assert.equal(line.remoteAddress, '127.0.0.1');
  });

  test('at debug, a detail line shows the parameters as read, without the signature', async () => {
    const body = await callVia('pop-get', server, 'DescribeRegions', { AcceptLanguage: 'en-US' });
    const detail = await detailOf(body.RequestId);
    assert.equal(detail.level, 20);
    assert.equal(detail.method, 'GET');
    const params = detail.params as Record<string, string>;
    assert.equal(params.Action, 'DescribeRegions');
    assert.equal(params.AcceptLanguage, 'en-US');
    assert.equal(params.AccessKeyId, server.accessKeyId);
    assert.equal(params.SignatureMethod, 'HMAC-SHA1');
    assert.ok(!('Signature' in params), JSON.stringify(params));
    assert.equal(detail.message, undefined);
  });

  test("at debug, a refused request's detail line gives the error's message; a security token and an unknown key are not shown whole", async () => {
    const err = await expectCode(
      () =>
        callVia(
          'pop-get',
          { ...server, accessKeyId: 'LTAIpastedsecret9876', securityToken: 'token-secret-5309' },
          'DescribeRegions',
          {},
        ),
      'InvalidAccessKeyId.NotFound',
    );
    const access = await accessLineWith('InvalidAccessKeyId.NotFound');
    const detail = await detailOf(access.requestId);
    const params = detail.params as Record<string, string>;
    assert.equal(params.SecurityToken, '***');
    assert.equal(params.AccessKeyId, 'LTAI…');
    assert.equal(detail.message, (err.data as Line).Message);
    const text = lines.join('');
    assert.ok(!text.includes('token-secret-5309'), 'the security token is not logged');
    assert.ok(!text.includes('pastedsecret9876'), 'an unknown key id is not logged whole');
  });

  test('at debug, a refused signature of temporary credentials does not log their security token, which its message quotes', async () => {
    const sts = await issueTemporaryCredentials(
      server.store.db,
      { accountId: server.accountId, roleName: 'logged-role' },
      Date.now(),
    );
    const wrong = {
      ...server,
      accessKeyId: sts.accessKeyId,
      accessKeySecret: 'not-the-secret',
      securityToken: sts.securityToken,
    };
    for (const mode of ['pop-get', 'pop-post', 'vpc-v1'] as const)
      await expectCode(() => callVia(mode, wrong, 'DescribeRegions', {}), 'SignatureDoesNotMatch');
    const refused = parsed(lines).filter((l) => l.msg === 'request' && l.code === 'SignatureDoesNotMatch');
    assert.equal(refused.length, 3);
    for (const access of refused) {
      const detail = await detailOf(access.requestId);
      // The message still quotes the string to sign, the token taken out of it.
      assert.ok(String(detail.message).startsWith(SIGNATURE_MISMATCH_PREFIX), String(detail.message));
      assert.match(String(detail.message), /SecurityToken%3D\*\*\*/);
    }
    assert.ok(!lines.join('').includes(sts.securityToken), 'the security token is not logged');
  });

  test('at debug, parameters named like secrets in any case show ***, and one like an AccessKeyId only its start', async () => {
    const body = await callVia('pop-get', server, 'DescribeRegions', {
      AccessKeySecret: 'pasted-secret-0001',
      ACCESSKEYSECRET: 'pasted-secret-0002',
      SECURITYTOKEN: 'pasted-token-0003',
      ACCESSKEYID: 'LTAIpastedkey0004',
    });
    const params = (await detailOf(body.RequestId)).params as Record<string, string>;
    assert.deepEqual(
      [params.AccessKeySecret, params.ACCESSKEYSECRET, params.SECURITYTOKEN, params.ACCESSKEYID],
      ['***', '***', '***', 'LTAI…'],
    );
    // Nor in a V1 SignatureDoesNotMatch, whose message quotes every parameter.
    await expectCode(
      () =>
        callVia('pop-get', { ...server, accessKeySecret: 'not-the-secret' }, 'DescribeRegions', {
          ACCESSKEYID: 'LTAIpastedkey0005',
          ACCESSKEYSECRET: 'pasted-secret-0006',
        }),
      'SignatureDoesNotMatch',
    );
    await lineWhere(
      lines,
      (l) => l.msg === 'request detail' && String(l.message).includes('ACCESSKEYID%3D***'),
    );
    assert.ok(!/pasted/.test(lines.join('')), 'no pasted value is logged');
  });

  test('at debug, a long request shows its first 100 parameters and how many more it had', async () => {
    const ids: Record<string, string> = {};
    for (let i = 1; i <= 150; i++) ids[`Tag.${i}.Key`] = `k${i}`;
    const body = await callVia('pop-get', server, 'DescribeRegions', ids);
    const params = (await detailOf(body.RequestId)).params as Record<string, string>;
    assert.equal(Object.keys(params).length, 101);
    // 150 tags and pop-core's own 8 (Format, SignatureMethod, SignatureNonce, SignatureVersion,
    // Timestamp, AccessKeyId, Version, Action), less the 100 shown; the signature is not counted.
    assert.equal(params['…'], '58 more');
  });

  test('at debug, an applied transition is logged', async () => {
    const created = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: 'cn-hangzhou' });
    const id = String(created.TrafficMirrorFilterId);
    assert.ok(!parsed(lines).some((l) => l.msg === 'transition applied' && l.resourceId === id));
    assert.equal(await server.advance({ resourceId: id }), 1);
    const line = await lineWhere(lines, (l) => l.msg === 'transition applied' && l.resourceId === id);
    assert.equal(line.kind, 'ready');
  });

  test('at the default level there are no detail lines', async () => {
    const body = await callVia('pop-get', quiet, 'DescribeRegions', {});
    await lineWhere(quietLines, (l) => l.msg === 'request' && l.requestId === body.RequestId);
    assert.ok(!parsed(quietLines).some((l) => l.msg === 'request detail'));
  });
});
