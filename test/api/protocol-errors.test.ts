/**
 * The front door (issue 2) through the official clients: transport, both signatures, the clock and
 * nonce checks, the envelopes and the validation that comes from the operation table. Requests the
 * clients cannot be asked to send are client-signed requests captured on loopback and changed
 * (test/helpers/capture.ts), never requests signed by the project's own code.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as $OpenApi from '@alicloud/openapi-core';
import RPCClient from '@alicloud/pop-core';
import Vpc from '@alicloud/vpc20160428';
import { createAccessKey, createUser } from '../../src/accounts/accounts.service.js';
import { rootKey } from '../../src/accounts/bootstrap.js';
import { defineOperation } from '../../src/api/operation.js';
import { createApp } from '../../src/app.js';
import { SIGNATURE_MISMATCH_PREFIX } from '../../src/protocol/errors.js';
import { listen, type RunningServer } from '../../src/server.js';
import { insertAccessKey, setAccessKeyStatus } from '../../src/store/credentials.repo.js';
import {
  type CaptureServer,
  captureCall,
  enc,
  expectError,
  expectSuccess,
  headerOf,
  type Keys,
  listenWith,
  paramsOf,
  queryOf,
  type RawRequest,
  REQUEST_ID,
  rawExchange,
  replay,
  startCapture,
  withBody,
  withBodyParam,
  withHeader,
  withoutHeader,
  withQueryParam,
} from '../helpers/capture.js';
import { CLIENT_MODES, callVia, expectCode, rpcParams, vpcClient } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const MINUTE = 60_000;
const MANDATORY = [
  'host',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
];

/** pop-core's Timestamp format, for requests the client signs with a chosen time. */
function timestampAt(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function regionsOf(body: Record<string, unknown>): Array<Record<string, unknown>> {
  return (body.Regions as { Region: Array<Record<string, unknown>> }).Region;
}

/** Replaces the SignedHeaders list of a V3 Authorization header, keeping its signature. */
function withSignedHeaders(r: RawRequest, list: readonly string[]): RawRequest {
  const auth = headerOf(r, 'authorization') ?? '';
  return withHeader(
    r,
    'Authorization',
    auth.replace(/SignedHeaders=[^,]*/, `SignedHeaders=${list.join(';')}`),
  );
}

function signedHeadersOf(r: RawRequest): string[] {
  return /SignedHeaders=([^,]*)/.exec(headerOf(r, 'authorization') ?? '')?.[1]?.split(';') ?? [];
}

/** The V1 string to sign, computed here independently from the captured request. */
function v1StringToSignOf(r: RawRequest): string {
  const pairs = [...paramsOf(r)].filter(([k]) => k !== 'Signature').sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const canonical = pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  return `${r.method}&${enc('/')}&${enc(canonical)}`;
}

/** The V3 string to sign, computed here independently from the captured request. */
function v3StringToSignOf(r: RawRequest): string {
  const query = [...new URLSearchParams(queryOf(r))]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .join('&');
  const signed = signedHeadersOf(r);
  const headers = signed.map((h) => `${h}:${(headerOf(r, h) ?? '').trim()}\n`).join('');
  const canonical = `${r.method}\n/\n${query}\n${headers}\n${signed.join(';')}\n${headerOf(r, 'x-acs-content-sha256')}`;
  return `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
}

/** An SDK V3 call whose parameters travel in a form body (the SDK signs the body's hash). */
async function v3WithBody(
  endpoint: string,
  keys: Keys,
  action: string,
  query: Record<string, string>,
  body: Record<string, string>,
): Promise<Record<string, unknown>> {
  const client = vpcClient({ endpoint, ...keys });
  const params = rpcParams(action);
  const request = new $OpenApi.$OpenApiUtil.OpenApiRequest({ query, body });
  const r = await client.callApi(params, request, {} as never);
  return r.body as Record<string, unknown>;
}

/** Test-only operations: one echoes its typed input, one fails the way a bug would. */
const ECHO = defineOperation({
  action: 'TestEchoParams',
  summary: 'test only',
  access: 'read',
  params: {
    Text: { type: 'string' },
    Flag: { type: 'boolean' },
    Count: { type: 'integer', min: 1, max: 100 },
    Code: { type: 'string', pattern: /^[a-z]{3}$/ },
    Ids: { type: 'list', item: { type: 'string', maxLength: 8 }, maxItems: 3 },
  },
  resource: '*',
  errors: [],
  response: {
    Echo: {
      fields: { Text: 'string', Flag: 'boolean', Count: 'integer', Code: 'string', Ids: { list: 'string' } },
    },
  },
  handler: async (_ctx, input) => ({ Echo: input }),
});
const BOOM = defineOperation({
  action: 'TestBoom',
  summary: 'test only',
  access: 'read',
  params: {},
  resource: '*',
  errors: [],
  response: {},
  handler: async () => {
    throw new Error('secret-detail-7431: the database said no');
  },
});

for (const storeKind of testStores()) {
  describe(`protocol and errors [${storeKind}]`, () => {
    let server: TestServer;
    let extra: RunningServer;
    let cap: CaptureServer;
    let keys: Keys;
    const logLines: string[] = [];

    before(async () => {
      server = await startTestServer({
        store: storeKind,
        flags: { transitions: 'manual' },
        logSink: logLines,
      });
      extra = await listenWith(server, { operations: [ECHO, BOOM] });
      cap = await startCapture();
      keys = { accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    });
    after(async () => {
      await cap?.close();
      await extra?.close();
      await server?.close();
    });

    const signed = (mode: (typeof CLIENT_MODES)[number], action: string, params: Record<string, unknown>) =>
      captureCall(cap, mode, keys, action, params);
    const send = (r: RawRequest, port = server.port) => replay(port, r);

    describe('transport', () => {
      test('DescribeRegions answers 200 on path / through every client mode, with no Code', async () => {
        for (const mode of CLIENT_MODES) {
          const r = await signed(mode, 'DescribeRegions', {});
          assert.equal(r.url.split('?')[0], '/');
          const body = expectSuccess(await send(r));
          assert.ok(regionsOf(body).length > 0, mode);
        }
      });

      test('DescribeRegions on another path is InvalidAction.NotFound (404)', async () => {
        const r = await signed('pop-get', 'DescribeRegions', {});
        expectError(
          await send({ ...r, url: r.url.replace(/^\/\?/, '/vpc/?') }),
          404,
          'InvalidAction.NotFound',
        );
      });

      test('DescribeRegions through pop-core POST with half the parameters moved to the query merges both (V1 signs both)', async () => {
        const r = await signed('pop-post', 'DescribeRegions', { AcceptLanguage: 'en-US' });
        assert.equal(queryOf(r), '');
        let moved = r;
        for (const name of ['AcceptLanguage', 'Action', 'Timestamp']) {
          moved = withQueryParam(moved, name, paramsOf(r).get(name));
          moved = withBodyParam(moved, name, undefined);
        }
        assert.ok(!moved.body.toString().includes('AcceptLanguage'));
        const body = expectSuccess(await send(moved));
        assert.equal(
          regionsOf(body).find((x) => x.RegionId === 'cn-hongkong')?.LocalName,
          'China (Hong Kong)',
        );
      });

      test('DescribeRegions with a key in both query and body with different values is InvalidParameter naming it', async () => {
        const r = await signed('pop-post', 'DescribeRegions', { AcceptLanguage: 'en-US' });
        const body = expectError(
          await send(withQueryParam(r, 'AcceptLanguage', 'zh-CN')),
          400,
          'InvalidParameter',
        );
        assert.equal(body.Message, 'The specified parameter "AcceptLanguage" is not valid.');
      });

      test('DescribeRegions through the SDK V3 with its parameters in a form body merges the body', async () => {
        const body = await v3WithBody(
          server.endpoint,
          keys,
          'DescribeRegions',
          {},
          { AcceptLanguage: 'en-US' },
        );
        assert.equal(
          regionsOf(body).find((x) => x.RegionId === 'cn-hangzhou')?.LocalName,
          'China (Hangzhou)',
        );
      });

      test('a + in the query is decoded as a space and %2B as a plus, without breaking the V1 signature', async () => {
        const r = await signed('pop-get', 'TestEchoParams', { Text: 'a b+c' });
        assert.ok(r.url.includes('Text=a%20b%2Bc'), r.url);
        const plus = { ...r, url: r.url.replace('Text=a%20b%2Bc', 'Text=a+b%2Bc') };
        const body = expectSuccess(await send(plus, extra.port));
        assert.deepEqual(body.Echo, { Text: 'a b+c', Ids: [] });
      });

      test('the SDK V3 sends Action and Version only as x-acs-action/x-acs-version, and the server takes them from there', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        assert.equal(paramsOf(r).has('Action'), false);
        assert.equal(paramsOf(r).has('Version'), false);
        expectSuccess(await send(r));
      });

      test('a V1 request takes Action and Version from its parameters (x-acs-* headers removed)', async () => {
        const r = await signed('pop-get', 'DescribeRegions', {});
        expectSuccess(await send(withoutHeader(withoutHeader(r, 'x-acs-action'), 'x-acs-version')));
      });

      test('a V1 request whose x-acs-action header disagrees with its Action parameter is InvalidParameter', async () => {
        const r = await signed('pop-get', 'DescribeRegions', {});
        const body = expectError(
          await send(withHeader(r, 'x-acs-action', 'TagResources')),
          400,
          'InvalidParameter',
        );
        assert.match(String(body.Message), /"Action"/);
      });

      test('a V3 request whose signed Action or Version query parameter disagrees with x-acs-action or x-acs-version is InvalidParameter naming it; agreeing ones are accepted (protocol.md 4, step 4)', async () => {
        for (const [name, value] of [
          ['Action', 'TagResources'],
          ['Version', '2014-05-15'],
        ] as const) {
          // The SDK signs the parameter in the query: only the disagreement can refuse it.
          const r = await signed('vpc-v3', 'DescribeRegions', { [name]: value });
          assert.equal(paramsOf(r).get(name), value);
          const body = expectError(await send(r), 400, 'InvalidParameter');
          assert.equal(body.Message, `The specified parameter "${name}" is not valid.`);
        }
        const agreeing = await signed('vpc-v3', 'DescribeRegions', {
          Action: 'DescribeRegions',
          Version: '2016-04-28',
        });
        assert.equal(paramsOf(agreeing).get('Action'), 'DescribeRegions');
        expectSuccess(await send(agreeing));
      });

      test('CopyTrafficMirrorFilter (no such action) is InvalidAction.NotFound (404) through the SDK and on the wire', async () => {
        const err = await expectCode(
          () => callVia('vpc-v3', server, 'CopyTrafficMirrorFilter', { RegionId: 'cn-hangzhou' }),
          'InvalidAction.NotFound',
        );
        assert.equal(err.statusCode, 404);
        const r = await signed('vpc-v1', 'CopyTrafficMirrorFilter', {});
        const body = expectError(await send(r), 404, 'InvalidAction.NotFound');
        assert.equal(body.Message, 'Specified api is not found, please check your url and method.');
      });

      test('a request target in absolute form (http://host/?…) is served like /?…', async () => {
        for (const mode of ['pop-get', 'vpc-v3'] as const) {
          const r = await signed(mode, 'DescribeRegions', {});
          expectSuccess(await send({ ...r, url: `http://127.0.0.1:${server.port}${r.url}` }));
        }
      });

      test('DescribeRegions with Version 2014-05-15 is InvalidVersion (400)', async () => {
        const old = new RPCClient({ ...keys, endpoint: `http://${cap.endpoint}`, apiVersion: '2014-05-15' });
        cap.requests.length = 0;
        await old.request('DescribeRegions', {}, { method: 'POST' });
        const [r] = cap.requests.splice(0);
        assert.ok(r);
        const body = expectError(await send(r), 400, 'InvalidVersion');
        assert.equal(body.Message, 'Specified parameter Version is not valid.');
      });

      for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        test(`a client-signed request sent with ${method} is UnsupportedHTTPMethod (403)`, async () => {
          const r = await signed('pop-get', 'DescribeRegions', {});
          const body = expectError(await send({ ...r, method }), 403, 'UnsupportedHTTPMethod');
          assert.equal(body.Message, 'This http method not supported.');
        });
      }

      test('a client-signed request sent with HEAD is answered 403 without a body', async () => {
        const r = await signed('pop-get', 'DescribeRegions', {});
        const res = await send({ ...r, method: 'HEAD' });
        assert.equal(res.status, 403);
        assert.equal(res.text, '');
      });
    });

    describe('signatures', () => {
      test('V3 is verified over the client own SignedHeaders: an extra unsigned header changes nothing', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        assert.ok(signedHeadersOf(r).includes('x-acs-credentials-provider'));
        expectSuccess(await send(withHeader(r, 'x-extra-unsigned', 'anything')));
      });

      test('V3 with x-acs-credentials-provider (signed by the SDK, not mandatory) changed is SignatureDoesNotMatch', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        expectError(
          await send(withHeader(r, 'x-acs-credentials-provider', 'static_sts')),
          400,
          'SignatureDoesNotMatch',
        );
      });

      test('V3 with x-acs-credentials-provider dropped from SignedHeaders is SignatureDoesNotMatch', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        const fewer = signedHeadersOf(r).filter((h) => h !== 'x-acs-credentials-provider');
        expectError(await send(withSignedHeaders(r, fewer)), 400, 'SignatureDoesNotMatch');
      });

      for (const header of MANDATORY) {
        test(`V3 without ${header} in SignedHeaders is IncompleteSignature`, async () => {
          const r = await signed('vpc-v3', 'DescribeRegions', {});
          const body = expectError(
            await send(
              withSignedHeaders(
                r,
                signedHeadersOf(r).filter((h) => h !== header),
              ),
            ),
            400,
            'IncompleteSignature',
          );
          assert.equal(body.Message, 'The request signature does not conform to Aliyun standards.');
        });
      }

      test('V3 with an x-acs-security-token header its SignedHeaders leave out is IncompleteSignature (protocol.md 6.4)', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        assert.ok(!signedHeadersOf(r).includes('x-acs-security-token'));
        for (const token of ['vmst.unsigned-token', '']) {
          const body = expectError(
            await send(withHeader(r, 'x-acs-security-token', token)),
            400,
            'IncompleteSignature',
          );
          assert.equal(body.Message, 'The request signature does not conform to Aliyun standards.');
        }
        expectSuccess(await send(r));
      });

      test('V3 with an unsupported algorithm (ACS3-HMAC-SM3) is IncompleteSignature', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        const auth = (headerOf(r, 'authorization') ?? '').replace('ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3');
        expectError(await send(withHeader(r, 'Authorization', auth)), 400, 'IncompleteSignature');
      });

      test('V3 with a body its x-acs-content-sha256 does not describe is SignatureDoesNotMatch', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        expectError(await send(withBody(r, 'surprise', 'text/plain')), 400, 'SignatureDoesNotMatch');
      });

      test('V3 from the SDK with a form body changed after signing is SignatureDoesNotMatch', async () => {
        cap.requests.length = 0;
        await v3WithBody(cap.endpoint, keys, 'DescribeRegions', {}, { AcceptLanguage: 'en-US' });
        const [r] = cap.requests.splice(0);
        assert.ok(r);
        assert.equal(r.body.toString(), 'AcceptLanguage=en-US');
        expectError(await send(withBody(r, 'AcceptLanguage=zh-CN')), 400, 'SignatureDoesNotMatch');
        expectSuccess(await send(r));
      });

      test('V3 with a header the server reads sent twice is IncompleteSignature: the signature covers both values, the server would act on one', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        const added: Array<ReadonlyArray<readonly [string, string]>> = [
          [['x-acs-action', 'ListTrafficMirrorFilters']],
          [['x-acs-signature-nonce', 'another-nonce']],
          [['x-acs-version', '2016-04-28']],
          [['x-acs-credentials-provider', 'static_ak']],
          // Not sent by the SDK here: twice, it is read once and counted twice.
          [
            ['content-type', 'application/json'],
            ['content-type', 'text/plain'],
          ],
        ];
        for (const extraHeaders of added) {
          const twice = { ...r, headers: [...r.headers, ...extraHeaders] };
          expectError(await send(twice), 400, 'IncompleteSignature');
        }
        expectSuccess(await send(r));
      });

      test('V3 without x-acs-content-sha256, or with UNSIGNED-PAYLOAD, is IncompleteSignature', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        expectError(await send(withoutHeader(r, 'x-acs-content-sha256')), 400, 'IncompleteSignature');
        expectError(
          await send(withHeader(r, 'x-acs-content-sha256', 'UNSIGNED-PAYLOAD')),
          400,
          'IncompleteSignature',
        );
      });

      test('V1 with an empty SignatureType= verifies, and the empty parameter is part of the signature', async () => {
        const r = await signed('pop-get', 'DescribeRegions', { SignatureType: '' });
        assert.match(r.url, /[?&]SignatureType=(&|$)/);
        expectError(await send(withQueryParam(r, 'SignatureType', undefined)), 400, 'SignatureDoesNotMatch');
        expectSuccess(await send(r));
      });

      test('V1 declaring a SignatureMethod other than HMAC-SHA1 or a SignatureVersion other than 1.0 is IncompleteSignature, though pop-core still signs it with HMAC-SHA1 (protocol.md 9)', async () => {
        for (const mode of ['pop-get', 'pop-post'] as const) {
          for (const [name, value] of [
            ['SignatureMethod', 'HMAC-SHA256'],
            ['SignatureVersion', '2.0'],
          ] as const) {
            const r = await signed(mode, 'DescribeRegions', { [name]: value });
            assert.equal(paramsOf(r).get(name), value, mode);
            const body = expectError(await send(r), 400, 'IncompleteSignature');
            assert.equal(body.Message, 'The request signature does not conform to Aliyun standards.');
          }
        }
      });

      test('V1 signed 16 minutes in the past or the future is InvalidTimeStamp.Expired; 14 minutes is accepted', async () => {
        for (const offset of [-16 * MINUTE, 16 * MINUTE]) {
          const r = await signed('pop-get', 'DescribeRegions', {
            Timestamp: timestampAt(Date.now() + offset),
          });
          const body = expectError(await send(r), 400, 'InvalidTimeStamp.Expired');
          assert.equal(body.Message, 'Specified time stamp or date value is expired.');
        }
        expectSuccess(
          await send(
            await signed('pop-get', 'DescribeRegions', { Timestamp: timestampAt(Date.now() - 14 * MINUTE) }),
          ),
        );
      });

      test('V1 signed with an empty Timestamp is MissingTimestamp, as the gateway names it; one left out after signing is SignatureDoesNotMatch', async () => {
        for (const mode of ['pop-get', 'pop-post'] as const) {
          const r = await signed(mode, 'DescribeRegions', { Timestamp: '' });
          assert.equal(paramsOf(r).get('Timestamp'), '', mode);
          const body = expectError(await send(r), 400, 'MissingTimestamp');
          assert.equal(body.Message, 'Timestamp is mandatory for this action.');
        }
        const r = await signed('pop-get', 'DescribeRegions', {});
        expectError(await send(withQueryParam(r, 'Timestamp', undefined)), 400, 'SignatureDoesNotMatch');
      });

      test('V1 signed with an unparsable Timestamp is InvalidTimeStamp.Format', async () => {
        const r = await signed('pop-get', 'DescribeRegions', { Timestamp: 'yesterday' });
        expectError(await send(r), 400, 'InvalidTimeStamp.Format');
      });

      test('a fresh SDK V3 request reaching a server whose clock is 16 minutes ahead is InvalidTimeStamp.Expired', async () => {
        const ahead = createApp(
          server.app.config,
          server.store,
          server.app.log,
          () => Date.now() + 16 * MINUTE,
        );
        const running = await listen(ahead, '127.0.0.1', 0);
        try {
          const err = await expectCode(
            () =>
              callVia('vpc-v3', { ...keys, endpoint: `127.0.0.1:${running.port}` }, 'DescribeRegions', {}),
            'InvalidTimeStamp.Expired',
          );
          assert.equal(err.statusCode, 400);
        } finally {
          await running.close();
          await ahead.stop();
        }
      });

      test('a request dated ahead of the server clock keeps its nonce as long as its timestamp is accepted', async () => {
        let clock = Date.now();
        const app = createApp(server.app.config, server.store, server.app.log, () => clock);
        const running = await listen(app, '127.0.0.1', 0);
        try {
          const r = await signed('pop-get', 'DescribeRegions', {
            Timestamp: timestampAt(clock + 14 * MINUTE),
          });
          expectSuccess(await send(r, running.port));
          // Past receipt + 15 minutes, the request's own time is still within 15 minutes.
          clock += 16 * MINUTE;
          expectError(await send(r, running.port), 400, 'SignatureNonceUsed');
          clock += 13 * MINUTE + 1;
          expectError(await send(r, running.port), 400, 'InvalidTimeStamp.Expired');
        } finally {
          await running.close();
          await app.stop();
        }
      });

      test('a fresh SDK V3 request replayed to a server with default settings is SignatureNonceUsed', async () => {
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        expectSuccess(await send(r));
        const body = expectError(await send(r), 400, 'SignatureNonceUsed');
        assert.equal(body.Message, 'Specified signature nonce was used already.');
      });

      test('one SDK request sent ten times at once is answered once; the nine copies are SignatureNonceUsed', async () => {
        // The copies arrive together, so their nonces meet in one group commit (or in consecutive
        // ones): exactly one may win either way.
        const r = await signed('vpc-v3', 'DescribeRegions', {});
        const answers = await Promise.all(Array.from({ length: 10 }, () => send(r)));
        assert.equal(answers.filter((a) => a.status === 200).length, 1);
        for (const a of answers.filter((x) => x.status !== 200)) expectError(a, 400, 'SignatureNonceUsed');
      });

      test('a 5,000-character SignatureNonce sent among other requests is accepted once, and only that request is affected', async () => {
        const long = `nonce-${Date.now()}-${'n'.repeat(5_000)}`;
        const others = await Promise.all(
          Array.from({ length: 5 }, () => signed('vpc-v3', 'DescribeRegions', {})),
        );
        const mine = await signed('pop-get', 'DescribeRegions', { SignatureNonce: long });
        const answers = await Promise.all([send(mine), ...others.map((r) => send(r))]);
        for (const a of answers) expectSuccess(a);
        expectError(
          await send(await signed('pop-post', 'DescribeRegions', { SignatureNonce: long })),
          400,
          'SignatureNonceUsed',
        );
      });

      test('a V1 SignatureNonce reused by the same key is SignatureNonceUsed, by another key it is accepted', async () => {
        const nonce = `nonce-${Date.now()}-${Math.random()}`;
        expectSuccess(await send(await signed('pop-get', 'DescribeRegions', { SignatureNonce: nonce })));
        expectError(
          await send(await signed('pop-post', 'DescribeRegions', { SignatureNonce: nonce })),
          400,
          'SignatureNonceUsed',
        );
        const other = { accessKeyId: `other-${storeKind}-nonce`, accessKeySecret: 'other-secret' };
        await insertAccessKey(
          server.store.db,
          rootKey(server.accountId, other.accessKeyId, other.accessKeySecret, Date.now()),
        );
        const r = await captureCall(cap, 'pop-get', other, 'DescribeRegions', { SignatureNonce: nonce });
        expectSuccess(await send(r));
      });

      test('an unknown AccessKeyId is InvalidAccessKeyId.NotFound (404)', async () => {
        const stranger = {
          endpoint: server.endpoint,
          accessKeyId: 'nobody-has-this-key',
          accessKeySecret: 'x',
        };
        const err = await expectCode(
          () => callVia('vpc-v3', stranger, 'DescribeRegions', {}),
          'InvalidAccessKeyId.NotFound',
        );
        assert.equal(err.statusCode, 404);
        const r = await captureCall(cap, 'pop-get', stranger, 'DescribeRegions', {});
        const body = expectError(await send(r), 404, 'InvalidAccessKeyId.NotFound');
        assert.equal(body.Message, 'Specified access key is not found.');
      });

      test('a disabled AccessKey is InvalidAccessKeyId.Inactive (400) through V3 and V1', async () => {
        const disabled = { accessKeyId: `disabled-${storeKind}`, accessKeySecret: 'disabled-secret' };
        await insertAccessKey(
          server.store.db,
          rootKey(server.accountId, disabled.accessKeyId, disabled.accessKeySecret, Date.now()),
        );
        await setAccessKeyStatus(server.store.db, disabled.accessKeyId, 'Inactive');
        for (const mode of ['vpc-v3', 'pop-post'] as const) {
          const r = await captureCall(cap, mode, disabled, 'DescribeRegions', {});
          const body = expectError(await send(r), 400, 'InvalidAccessKeyId.Inactive');
          assert.equal(body.Message, 'Specified access key is disabled.');
        }
      });

      test('a wrong secret is SignatureDoesNotMatch whose message is the fixed prefix and the server string to sign (V1 GET, V1 POST, V3)', async () => {
        const wrong = { accessKeyId: keys.accessKeyId, accessKeySecret: 'not-the-secret' };
        for (const mode of ['pop-get', 'pop-post', 'vpc-v1'] as const) {
          const r = await captureCall(cap, mode, wrong, 'DescribeRegions', { AcceptLanguage: 'en-US' });
          const body = expectError(await send(r), 400, 'SignatureDoesNotMatch');
          assert.equal(body.Message, `${SIGNATURE_MISMATCH_PREFIX}${v1StringToSignOf(r)}`, mode);
        }
        const r = await captureCall(cap, 'vpc-v3', wrong, 'DescribeRegions', { AcceptLanguage: 'en-US' });
        const body = expectError(await send(r), 400, 'SignatureDoesNotMatch');
        assert.equal(body.Message, `${SIGNATURE_MISMATCH_PREFIX}${v3StringToSignOf(r)}`);
        assert.ok(
          String(body.Message).startsWith(
            'Specified signature is not matched with our calculation. server string to sign is:',
          ),
        );
      });

      test('a request without credentials is MissingAccessKeyId (400)', async () => {
        const res = await rawExchange(
          server.port,
          'GET /?Action=DescribeRegions&Version=2016-04-28 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        );
        assert.equal(res.status, 400);
        const r = await signed('pop-get', 'DescribeRegions', {});
        const stripped = withQueryParam(r, 'AccessKeyId', undefined);
        const body = expectError(await send(stripped), 400, 'MissingAccessKeyId');
        assert.equal(body.Message, 'AccessKeyId is mandatory for this action.');
        expectError(
          await send(
            withQueryParam(
              withQueryParam(withoutHeader(r, 'x-sdk-client'), 'AccessKeyId', undefined),
              'Signature',
              undefined,
            ),
          ),
          400,
          'MissingAccessKeyId',
        );
      });

      test('an unsigned request is MissingAccessKeyId before its action or version is looked at (protocol.md 4, step 3)', async () => {
        for (const query of [
          'Action=NoSuchAction&Version=2016-04-28',
          'Action=DescribeRegions',
          'Action=DescribeRegions&Version=2014-01-01',
          'Version=2016-04-28',
          'SignatureType=BEARERTOKEN&BearerToken=abc&Action=DescribeRegions&Version=2016-04-28',
        ]) {
          const res = await rawExchange(
            server.port,
            `GET /?${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          );
          expectError({ ...res, status: res.status ?? 0 }, 400, 'MissingAccessKeyId');
        }
      });
    });

    describe('envelopes', () => {
      test('an operation that throws is InternalError (500) with no detail on the wire, logged with its RequestId', async () => {
        const r = await signed('vpc-v3', 'TestBoom', {});
        const body = expectError(await send(r, extra.port), 500, 'InternalError');
        assert.equal(
          body.Message,
          'The request processing has failed due to some unknown error, exception or failure.',
        );
        assert.ok(!JSON.stringify(body).includes('secret-detail-7431'));
        assert.ok(!/\bat .*\(|\.ts:\d+/.test(JSON.stringify(body)));
        const logged = logLines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.requestId === body.RequestId && l.level === 50);
        assert.ok(logged, 'an error log line carries the RequestId');
        assert.match(JSON.stringify(logged), /secret-detail-7431/);
      });

      test('the access line of a refused signature names the AccessKey id the request claimed, of an unknown key only its start; a huge action is clipped', async () => {
        const lineOf = async (requestId: unknown) => {
          for (let i = 0; i < 50; i++) {
            const line = logLines
              .flatMap((chunk) => chunk.split('\n'))
              .filter((l) => l.startsWith('{'))
              .map((l) => JSON.parse(l) as Record<string, unknown>)
              .find((l) => l.requestId === requestId && l.msg === 'request');
            if (line) return line;
            await new Promise((resolve) => setImmediate(resolve));
          }
          return undefined;
        };
        const wrongSecret = await captureCall(
          cap,
          'vpc-v3',
          { ...keys, accessKeySecret: 'not-the-secret' },
          'DescribeRegions',
          {},
        );
        const mismatch = expectError(await send(wrongSecret), 400, 'SignatureDoesNotMatch');
        const mismatchLine = await lineOf(mismatch.RequestId);
        assert.deepEqual([mismatchLine?.accessKeyId, mismatchLine?.principal], [keys.accessKeyId, undefined]);
        // A request that passes names who its key is, too.
        const fine = expectSuccess(await send(await captureCall(cap, 'vpc-v3', keys, 'DescribeRegions', {})));
        const fineLine = await lineOf(fine.RequestId);
        assert.deepEqual(
          [fineLine?.accessKeyId, fineLine?.principal],
          [keys.accessKeyId, `account:${server.accountId}`],
        );
        // A RAM user refused by RAM is named as the user.
        await createUser(server.store.db, { accountId: server.accountId, name: 'logged-user' }, Date.now());
        const userKey = await createAccessKey(
          server.store.db,
          { accountId: server.accountId, userName: 'logged-user' },
          Date.now(),
        );
        const denied = expectError(
          await send(await captureCall(cap, 'vpc-v3', userKey, 'DescribeRegions', {})),
          403,
          'Forbidden.RAM',
        );
        assert.equal((await lineOf(denied.RequestId))?.principal, 'user:logged-user');
        const unknown = await captureCall(
          cap,
          'pop-get',
          { accessKeyId: 'LTAInobodyhas0001', accessKeySecret: 'x' },
          'DescribeRegions',
          {},
        );
        const notFound = expectError(await send(unknown), 404, 'InvalidAccessKeyId.NotFound');
        // A key the store does not have may be a secret pasted in the wrong place: only its start.
        assert.equal((await lineOf(notFound.RequestId))?.accessKeyId, 'LTAI…');
        const huge = await captureCall(cap, 'pop-get', keys, `A${'a'.repeat(5000)}`, {});
        const body = expectError(await send(huge), 404, 'InvalidAction.NotFound');
        const action = String((await lineOf(body.RequestId))?.action);
        assert.equal(action, `A${'a'.repeat(127)}…`);
      });

      test('the SDK sees InternalError as a ServerError with status 500', async () => {
        const err = await expectCode(
          () => callVia('vpc-v3', { ...keys, endpoint: `127.0.0.1:${extra.port}` }, 'TestBoom', {}),
          'InternalError',
        );
        assert.equal(err.statusCode, 500);
        assert.equal(err.name, 'ServerError');
      });
    });

    describe('operations as data', () => {
      test('ListTagResources without RegionId is MissingRegionId (400)', async () => {
        const r = await signed('vpc-v3', 'ListTagResources', { ResourceType: 'TRAFFICMIRRORSESSION' });
        const body = expectError(await send(r), 400, 'MissingRegionId');
        assert.equal(body.Message, 'RegionId is mandatory for this action.');
        await expectCode(
          () => callVia('pop-post', server, 'ListTagResources', { ResourceType: 'TRAFFICMIRRORSESSION' }),
          'MissingRegionId',
        );
      });

      test('TagResources without any ResourceId is MissingParameter naming ResourceId.1', async () => {
        const r = await signed('vpc-v1', 'TagResources', {
          RegionId: 'cn-hangzhou',
          ResourceType: 'TRAFFICMIRRORSESSION',
          Tag: [{ Key: 'k', Value: 'v' }],
        });
        const body = expectError(await send(r), 400, 'MissingParameter');
        assert.match(String(body.Message), /"ResourceId\.1"/);
      });

      const INVALID: ReadonlyArray<[string, string, Record<string, unknown>, string]> = [
        ['a non-integer MaxResults', 'ListTagResources', { MaxResults: 'ten' }, 'MaxResults'],
        ['MaxResults below its range', 'ListTagResources', { MaxResults: 0 }, 'MaxResults'],
        ['MaxResults above its range', 'ListTagResources', { MaxResults: 51 }, 'MaxResults'],
        ['a ResourceType outside its enum', 'ListTagResources', { ResourceType: 'VPC' }, 'ResourceType'],
        ['a non-boolean All', 'UnTagResources', { All: 'maybe', ResourceId: ['tms-x'] }, 'All'],
      ];
      for (const [what, action, params, name] of INVALID) {
        test(`${action} with ${what} is InvalidParameter naming ${name}`, async () => {
          const r = await signed('pop-get', action, {
            RegionId: 'cn-hangzhou',
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: ['tms-x'],
            ...params,
          });
          const body = expectError(await send(r), 400, 'InvalidParameter');
          assert.equal(body.Message, `The specified parameter "${name}" is not valid.`);
        });
      }

      test('DescribeRegions with an AcceptLanguage outside its enum, or a ProductType over its length, is InvalidParameter', async () => {
        let body = expectError(
          await send(await signed('vpc-v3', 'DescribeRegions', { AcceptLanguage: 'fr-FR' })),
          400,
          'InvalidParameter',
        );
        assert.match(String(body.Message), /"AcceptLanguage"/);
        body = expectError(
          await send(await signed('vpc-v3', 'DescribeRegions', { ProductType: 'x'.repeat(65) })),
          400,
          'InvalidParameter',
        );
        assert.match(String(body.Message), /"ProductType"/);
      });

      test('DescribeRegions without AcceptLanguage answers the zh-CN LocalName and the RegionEndpoint protocol.md 12 gives each region', async () => {
        const expected = [
          { RegionId: 'cn-hangzhou', LocalName: '华东1（杭州）', RegionEndpoint: 'vpc.aliyuncs.com' },
          { RegionId: 'cn-hongkong', LocalName: '中国香港', RegionEndpoint: 'vpc.aliyuncs.com' },
          {
            RegionId: 'cn-zhangjiakou',
            LocalName: '华北3（张家口）',
            RegionEndpoint: 'vpc.cn-zhangjiakou.aliyuncs.com',
          },
        ];
        for (const mode of CLIENT_MODES) {
          const regions = regionsOf(await callVia(mode, server, 'DescribeRegions', {}));
          assert.deepEqual(
            expected.map((e) => regions.find((r) => r.RegionId === e.RegionId)),
            expected,
            mode,
          );
        }
      });

      test('the typed DescribeRegions model of @alicloud/vpc20160428 reads the wrapped Regions.Region[] and its values', async () => {
        const answer = await vpcClient(server).describeRegions(
          new Vpc.DescribeRegionsRequest({ acceptLanguage: 'en-US' }),
        );
        assert.match(answer.body?.requestId ?? '', REQUEST_ID);
        const regions = answer.body?.regions?.region ?? [];
        assert.equal(regions.length, server.app.config.regions.length);
        const hongkong = regions.find((r) => r.regionId === 'cn-hongkong');
        assert.equal(hongkong?.localName, 'China (Hong Kong)');
        assert.equal(hongkong?.regionEndpoint, 'vpc.aliyuncs.com');
        const zhangjiakou = regions.find((r) => r.regionId === 'cn-zhangjiakou');
        assert.equal(zhangjiakou?.regionEndpoint, 'vpc.cn-zhangjiakou.aliyuncs.com');
        for (const r of regions) {
          assert.deepEqual(
            [typeof r.regionId, typeof r.localName, typeof r.regionEndpoint],
            ['string', 'string', 'string'],
          );
        }
      });

      test('a declared pattern and list item length are enforced, and booleans and integers are coerced', async () => {
        const ok = await signed('pop-post', 'TestEchoParams', {
          Flag: 'TRUE',
          Count: '042',
          Code: 'abc',
          Ids: ['a', 'b'],
        });
        assert.deepEqual(expectSuccess(await send(ok, extra.port)).Echo, {
          Flag: true,
          Count: 42,
          Code: 'abc',
          Ids: ['a', 'b'],
        });
        for (const [params, name] of [
          [{ Code: 'ABC' }, 'Code'],
          [{ Flag: 'yes' }, 'Flag'],
          [{ Count: '1.5' }, 'Count'],
          [{ Count: '101' }, 'Count'],
          [{ Ids: ['123456789'] }, 'Ids.1'],
          [{ Ids: ['a', 'b', 'c', 'd'] }, 'Ids.4'],
        ] as const) {
          const r = await signed('pop-post', 'TestEchoParams', params);
          const body = expectError(await send(r, extra.port), 400, 'InvalidParameter');
          assert.equal(body.Message, `The specified parameter "${name}" is not valid.`);
        }
      });

      for (const action of ['TagResources', 'ListTagResources']) {
        test(`${action} with an unknown RegionId is InvalidRegionId.NotFound (404)`, async () => {
          const r = await signed('vpc-v3', action, {
            RegionId: 'xx-nowhere-1',
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: ['tms-x'],
            Tag: [{ Key: 'k', Value: 'v' }],
          });
          const body = expectError(await send(r), 404, 'InvalidRegionId.NotFound');
          assert.equal(body.Message, 'The specified RegionId does not exist in our records.');
        });
      }
    });
  });

  describe(`configured regions [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { regions: 'eu-west-1,cn-hangzhou' } });
    });
    after(() => server?.close());

    test('DescribeRegions lists exactly the --regions list, wrapped as Regions.Region[]', async () => {
      for (const mode of CLIENT_MODES) {
        const body = await callVia(mode, server, 'DescribeRegions', { AcceptLanguage: 'en-US' });
        assert.deepEqual(
          regionsOf(body).map((r) => r.RegionId),
          ['eu-west-1', 'cn-hangzhou'],
          mode,
        );
      }
    });

    test('ListTagResources in a region left out of --regions is InvalidRegionId.NotFound', async () => {
      const err = await expectCode(
        () =>
          callVia('vpc-v3', server, 'ListTagResources', {
            RegionId: 'cn-hongkong',
            ResourceType: 'TRAFFICMIRRORSESSION',
            ResourceId: ['tms-x'],
          }),
        'InvalidRegionId.NotFound',
      );
      assert.equal(err.statusCode, 404);
      const ok = await callVia('vpc-v3', server, 'ListTagResources', {
        RegionId: 'eu-west-1',
        ResourceType: 'TRAFFICMIRRORSESSION',
        ResourceId: ['tms-x'],
      });
      assert.deepEqual((ok.TagResources as { TagResource: unknown[] }).TagResource, []);
    });
  });

  describe(`a store closed under a running app [${storeKind}]`, () => {
    test('DescribeRegions is InternalError (500), logged with its RequestId', async () => {
      const lines: string[] = [];
      const server = await startTestServer({ store: storeKind, logSink: lines });
      try {
        await server.store.close();
        const err = await expectCode(() => callVia('vpc-v3', server, 'DescribeRegions', {}), 'InternalError');
        assert.equal(err.statusCode, 500);
        const data = err.data as Record<string, unknown>;
        assert.equal(
          data.Message,
          'The request processing has failed due to some unknown error, exception or failure.',
        );
        assert.ok(
          lines.some(
            (l) =>
              (JSON.parse(l) as Record<string, unknown>).requestId === data.RequestId &&
              l.includes('"level":50'),
          ),
        );
      } finally {
        await server.close().catch(() => undefined);
      }
    });
  });
}
