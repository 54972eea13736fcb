/**
 * The signature verifier against requests the official clients really signed (test/fixtures/vectors,
 * 13 captures) and the two hand-made vectors of spec protocol.md 5.5 and 6.6: each verifies through
 * authenticate() and, replayed byte for byte over HTTP with its captured Host, through the server;
 * each tampered copy (parameter, signed header, body, secret) is SignatureDoesNotMatch. Clock and
 * nonce checks are off here only, because the captures are old and fixed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defineOperation } from '../../src/api/operation.js';
import { type AuthSettings, type AuthSources, authenticate } from '../../src/auth/authenticate.js';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import type { NonceRecorder } from '../../src/auth/nonce-batcher.js';
import {
  canonicalQuery,
  v1Sign,
  v1StringToSign,
  v3CanonicalRequest,
  v3Sign,
  v3StringToSign,
} from '../../src/auth/signature.js';
import { isApiError } from '../../src/protocol/api-error.js';
import { SIGNATURE_MISMATCH_PREFIX } from '../../src/protocol/errors.js';
import type { RunningServer } from '../../src/server.js';
import {
  authRequestOf,
  headerOf,
  listenWith,
  loadVectors,
  paramsOf,
  queryOf,
  type RawRequest,
  replay,
  type Vector,
  withBody,
  withBodyParam,
  withHeader,
  withQueryParam,
} from '../helpers/capture.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const V55_PARAMS = {
  AccessKeyId: 'testid',
  Action: 'CreateTrafficMirrorFilter',
  Format: 'JSON',
  RegionId: 'cn-hongkong',
  SignatureMethod: 'HMAC-SHA1',
  SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
  SignatureVersion: '1.0',
  Timestamp: '2024-01-01T12:00:00Z',
  Version: '2016-04-28',
  TrafficMirrorFilterName: 'my filter*',
  'IngressRules.1.Action': 'accept',
  'IngressRules.1.Protocol': 'TCP',
  'IngressRules.1.Priority': '1',
  'IngressRules.1.SourceCidrBlock': '10.0.0.0/8',
  'IngressRules.1.DestinationPortRange': '80/80',
};
const V55_CANONICAL =
  'AccessKeyId=testid&Action=CreateTrafficMirrorFilter&Format=JSON&IngressRules.1.Action=accept&IngressRules.1.DestinationPortRange=80%2F80&IngressRules.1.Priority=1&IngressRules.1.Protocol=TCP&IngressRules.1.SourceCidrBlock=10.0.0.0%2F8&RegionId=cn-hongkong&SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&SignatureVersion=1.0&Timestamp=2024-01-01T12%3A00%3A00Z&TrafficMirrorFilterName=my%20filter%2A&Version=2016-04-28';
const V55_STRING_TO_SIGN =
  'GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateTrafficMirrorFilter%26Format%3DJSON%26IngressRules.1.Action%3Daccept%26IngressRules.1.DestinationPortRange%3D80%252F80%26IngressRules.1.Priority%3D1%26IngressRules.1.Protocol%3DTCP%26IngressRules.1.SourceCidrBlock%3D10.0.0.0%252F8%26RegionId%3Dcn-hongkong%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-01T12%253A00%253A00Z%26TrafficMirrorFilterName%3Dmy%2520filter%252A%26Version%3D2016-04-28';

const V66_QUERY = {
  RegionId: 'cn-hongkong',
  TrafficMirrorFilterId: 'tmf-test0001',
  'TrafficMirrorFilterRuleIds.1': 'tmr-a',
  'TrafficMirrorFilterRuleIds.2': 'tmr-b',
};
const V66_HEADERS = {
  host: 'vpc.cn-hongkong.aliyuncs.com',
  'x-acs-action': 'DeleteTrafficMirrorFilterRules',
  'x-acs-content-sha256': EMPTY,
  'x-acs-date': '2024-01-01T12:00:00Z',
  'x-acs-signature-nonce': 'd410180a5abf7fe235dd9b74aca91fc0',
  'x-acs-version': '2016-04-28',
};
const V66_CANONICAL = `POST
/
RegionId=cn-hongkong&TrafficMirrorFilterId=tmf-test0001&TrafficMirrorFilterRuleIds.1=tmr-a&TrafficMirrorFilterRuleIds.2=tmr-b
host:vpc.cn-hongkong.aliyuncs.com
x-acs-action:DeleteTrafficMirrorFilterRules
x-acs-content-sha256:${EMPTY}
x-acs-date:2024-01-01T12:00:00Z
x-acs-signature-nonce:d410180a5abf7fe235dd9b74aca91fc0
x-acs-version:2016-04-28

host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
${EMPTY}`;

const VECTORS = loadVectors();
const OFF: AuthSettings = {
  maxSkewMs: 15 * 60_000,
  checkTimestamp: false,
  checkNonce: false,
};

/** The nonce check is off (OFF.checkNonce), so nothing may record one. */
const NO_NONCES: NonceRecorder = {
  record: () => Promise.reject(new Error('a nonce was recorded with the nonce check off')),
};

async function sourcesOf(db: TestServer['store']['db']): Promise<AuthSources> {
  return { credentials: new CredentialCache(db), nonces: NO_NONCES };
}

async function authError(
  db: TestServer['store']['db'],
  r: RawRequest,
): Promise<{ code: string; message: string }> {
  try {
    await authenticate(await sourcesOf(db), authRequestOf(r), OFF, Date.now());
  } catch (e) {
    if (isApiError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('the request was accepted');
}

/** Codes the front door answers before or while authenticating. */
const AUTH_CODES = new Set([
  'MissingAccessKeyId',
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'SignatureNonceUsed',
  'InvalidTimeStamp.Expired',
  'InvalidTimeStamp.Format',
  'InvalidAction.NotFound',
  'InvalidVersion',
]);

const isV3 = (v: Vector) => v.expected.signatureScheme === 'ACS3-HMAC-SHA256';

/** The tampered copies: each changes one thing the signature covers. */
const TAMPERS: ReadonlyArray<{ what: string; change: (v: Vector) => RawRequest }> = [
  {
    what: 'a changed parameter (RegionId)',
    change: (v) =>
      queryOf(v.request).includes('RegionId=')
        ? withQueryParam(v.request, 'RegionId', 'cn-hongkong')
        : withBodyParam(v.request, 'RegionId', 'cn-hongkong'),
  },
  {
    what: 'a changed signed header (V3: host; V1: the signed SignatureNonce parameter)',
    change: (v) => {
      if (isV3(v)) return withHeader(v.request, 'host', '127.0.0.1:8788');
      return queryOf(v.request).includes('SignatureNonce=')
        ? withQueryParam(v.request, 'SignatureNonce', 'f00dfeed')
        : withBodyParam(v.request, 'SignatureNonce', 'f00dfeed');
    },
  },
  {
    what: 'a changed body',
    change: (v) => {
      const body =
        v.request.body.length > 0 ? `${v.request.body.toString('latin1')}&Tampered=1` : 'Tampered=1';
      return withBody(v.request, body, 'application/x-www-form-urlencoded');
    },
  },
];

/** Stands in for each vector's action: echoes the business parameters it was given. */
function echoOperations() {
  const byAction = new Map<string, Set<string>>();
  for (const v of VECTORS) {
    const action = paramsOf(v.request).get('Action') ?? headerOf(v.request, 'x-acs-action') ?? '';
    const keys = byAction.get(action) ?? new Set<string>();
    for (const k of Object.keys(v.expected.apiParams)) keys.add(k);
    byAction.set(action, keys);
  }
  return [...byAction].map(([action, keys]) =>
    defineOperation({
      action,
      summary: 'test echo',
      access: 'read',
      params: Object.fromEntries([...keys].map((k) => [k, { type: 'string', allowEmpty: true } as const])),
      resource: '*',
      errors: [],
      response: { Echo: { fields: Object.fromEntries([...keys].map((k) => [k, 'string'] as const)) } },
      handler: async (_ctx, input) => ({ Echo: input }),
    }),
  );
}

test('the fixture holds the 13 captured vectors', () => {
  assert.equal(VECTORS.length, 13);
});

describe('the hand-made vectors of spec protocol.md', () => {
  test('V1 (5.5): canonical query, string to sign and signature are byte-exact', () => {
    const params = new Map(Object.entries(V55_PARAMS));
    assert.equal(canonicalQuery(params), V55_CANONICAL);
    const sts = v1StringToSign('GET', params);
    assert.equal(sts, V55_STRING_TO_SIGN);
    assert.equal(v1Sign('testsecret', sts), '2fw6Vds6dHv8OjS8+FMWdPF7Szw=');
  });

  test('V3 (6.6): canonical request, string to sign and signature are byte-exact', () => {
    const headers = new Map(Object.entries(V66_HEADERS));
    const canonical = v3CanonicalRequest(
      'POST',
      Object.entries(V66_QUERY),
      Object.keys(V66_HEADERS),
      (n) => (headers.has(n) ? [headers.get(n) ?? ''] : []),
      EMPTY,
    );
    assert.equal(canonical, V66_CANONICAL);
    const sts = v3StringToSign(canonical);
    assert.equal(sts, 'ACS3-HMAC-SHA256\n70352ce9dbedd87175c2d07ae690cb9246b34864f94cb678ce145457018ec56d');
    assert.equal(
      v3Sign('testsecret', sts),
      '32d7c9998d42a5884befe69d11eeb29998e1d95e8a6cc012a21264a1eea39d4c',
    );
  });
});

for (const storeKind of testStores()) {
  describe(`signature vectors [${storeKind}]`, () => {
    let server: TestServer;
    let echo: RunningServer;
    const logLines: string[] = [];
    before(async () => {
      server = await startTestServer({
        store: storeKind,
        logSink: logLines,
        env: {
          VPCMIRROR_ACCESS_KEY_ID: 'testid',
          VPCMIRROR_ACCESS_KEY_SECRET: 'testsecret',
          VPCMIRROR_CHECK_TIMESTAMP: '0',
          VPCMIRROR_CHECK_NONCE: '0',
        },
      });
      echo = await listenWith(server, { operations: echoOperations() });
    });
    after(async () => {
      await echo?.close();
      await server?.close();
    });

    test('the hand-made V1 vector (5.5) verifies through authenticate() as testid', async () => {
      const query = `${canonicalQuery(Object.entries(V55_PARAMS))}&Signature=${encodeURIComponent('2fw6Vds6dHv8OjS8+FMWdPF7Szw=')}`;
      const r = await authenticate(
        await sourcesOf(server.store.db),
        authRequestOf({ method: 'GET', url: `/?${query}`, headers: [], body: Buffer.alloc(0) }),
        OFF,
        Date.now(),
      );
      assert.equal(r.scheme, 'V1');
      assert.equal(r.principal.accessKeyId, 'testid');
    });

    test('the hand-made V3 vector (6.6) verifies through authenticate() as testid', async () => {
      const signed = Object.keys(V66_HEADERS).join(';');
      const url = `/?${canonicalQuery(Object.entries(V66_QUERY))}`;
      const request: RawRequest = {
        method: 'POST',
        url,
        headers: [
          ...Object.entries(V66_HEADERS),
          [
            'Authorization',
            `ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=${signed},Signature=32d7c9998d42a5884befe69d11eeb29998e1d95e8a6cc012a21264a1eea39d4c`,
          ],
        ],
        body: Buffer.alloc(0),
      };
      const r = await authenticate(await sourcesOf(server.store.db), authRequestOf(request), OFF, Date.now());
      assert.equal(r.scheme, 'V3');
      const tampered = withQueryParam(request, 'TrafficMirrorFilterRuleIds.2', 'tmr-c');
      const err = await authError(server.store.db, tampered);
      assert.equal(err.code, 'SignatureDoesNotMatch');
    });

    for (const v of VECTORS) {
      test(`${v.id}: authenticate() verifies it as testid with its own scheme`, async () => {
        if (isV3(v)) {
          const auth = headerOf(v.request, 'authorization') ?? '';
          const signed = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
          const req = authRequestOf(v.request);
          assert.equal(
            v3CanonicalRequest(v.request.method, req.params.query, signed, req.header, EMPTY),
            v.expected.derived.canonicalRequest,
          );
        } else {
          assert.equal(
            v1StringToSign(v.request.method, authRequestOf(v.request).params.all),
            v.expected.derived.stringToSign,
          );
        }
        const r = await authenticate(
          await sourcesOf(server.store.db),
          authRequestOf(v.request),
          OFF,
          Date.now(),
        );
        assert.equal(r.principal.accessKeyId, 'testid');
        assert.equal(r.scheme, isV3(v) ? 'V3' : 'V1');
      });

      test(`${v.id}: replayed over HTTP with its captured Host, the operation gets exactly the captured parameters`, async () => {
        assert.equal(headerOf(v.request, 'host'), '127.0.0.1:8787');
        const res = await replay(echo.port, v.request);
        assert.equal(res.status, 200, res.text);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        assert.deepEqual(body.Echo, v.expected.apiParams);
      });

      test(`${v.id}: replayed to the real server it passes authentication as testid (the access log names the key)`, async () => {
        const res = await replay(server.port, v.request);
        const body = JSON.parse(res.text) as Record<string, unknown>;
        assert.ok(!AUTH_CODES.has(String(body.Code)), res.text);
        const line = logLines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.msg === 'request' && l.requestId === body.RequestId);
        assert.equal(line?.accessKeyId, 'testid', res.text);
      });

      for (const t of TAMPERS) {
        test(`${v.id}: ${t.what} is SignatureDoesNotMatch, through authenticate() and over HTTP`, async () => {
          const tampered = t.change(v);
          const direct = await authError(server.store.db, tampered);
          assert.equal(direct.code, 'SignatureDoesNotMatch');
          assert.ok(direct.message.startsWith(SIGNATURE_MISMATCH_PREFIX), direct.message);
          const res = await replay(echo.port, tampered);
          assert.equal(res.status, 400, res.text);
          const body = JSON.parse(res.text) as Record<string, unknown>;
          assert.equal(body.Code, 'SignatureDoesNotMatch');
          assert.equal(body.Message, direct.message);
        });
      }
    }

    test('every vector checked against another secret is SignatureDoesNotMatch naming the same string to sign', async () => {
      await server.store.db
        .updateTable('access_keys')
        .set({ secret: 'testsecreT' })
        .where('access_key_id', '=', 'testid')
        .execute();
      try {
        for (const v of VECTORS) {
          const err = await authError(server.store.db, v.request);
          assert.equal(err.code, 'SignatureDoesNotMatch', v.id);
          assert.equal(err.message, `${SIGNATURE_MISMATCH_PREFIX}${v.expected.derived.stringToSign}`, v.id);
          const res = await replay(echo.port, v.request);
          assert.equal(res.status, 400, v.id);
          assert.equal((JSON.parse(res.text) as Record<string, unknown>).Code, 'SignatureDoesNotMatch', v.id);
        }
      } finally {
        await server.store.db
          .updateTable('access_keys')
          .set({ secret: 'testsecret' })
          .where('access_key_id', '=', 'testid')
          .execute();
      }
    });
  });
}
