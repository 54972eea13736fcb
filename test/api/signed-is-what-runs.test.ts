/**
 * What a signature covers is what the server acts on. The requests here are ones no official client
 * sends (a V1 request naming its action only in an unsigned header, a V3 form body whose
 * Content-Type is not signed), so they are signed with the project's own signature functions,
 * which test/unit/signature-vectors.test.ts checks against requests the official clients signed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  sha256Hex,
  V3_ALGORITHM,
  v1Sign,
  v1StringToSign,
  v3CanonicalRequest,
  v3Sign,
  v3StringToSign,
} from '../../src/auth/signature.js';
import { pct } from '../../src/protocol/encoding.js';
import { expectError, expectSuccess, type RawRequest, replay } from '../helpers/capture.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A V1 GET signed over exactly `params` (plus the signature's own parameters). */
function v1Get(
  server: TestServer,
  params: Record<string, string>,
  headers: Array<[string, string]>,
): RawRequest {
  const all = new Map<string, string>([
    ...Object.entries(params),
    ['AccessKeyId', server.accessKeyId],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureVersion', '1.0'],
    ['SignatureNonce', randomUUID()],
    ['Timestamp', now()],
    ['Format', 'JSON'],
  ]);
  all.set('Signature', v1Sign(server.accessKeySecret, v1StringToSign('GET', all)));
  const query = [...all].map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&');
  return {
    method: 'GET',
    url: `/?${query}`,
    headers: [['host', `127.0.0.1:${server.port}`], ...headers],
    body: Buffer.alloc(0),
  };
}

/** A V3 POST of `action` with a form body, signing the listed headers only. */
function v3FormPost(server: TestServer, action: string, form: string, signContentType: boolean): RawRequest {
  const body = Buffer.from(form);
  const headers = new Map<string, string>([
    ['host', `127.0.0.1:${server.port}`],
    ['x-acs-action', action],
    ['x-acs-version', '2016-04-28'],
    ['x-acs-date', now()],
    ['x-acs-signature-nonce', randomUUID()],
    ['x-acs-content-sha256', sha256Hex(body)],
    ['content-type', 'application/x-www-form-urlencoded'],
  ]);
  const signedNames = [...headers.keys()].filter((h) => signContentType || h !== 'content-type').sort();
  const canonical = v3CanonicalRequest(
    'POST',
    [],
    signedNames,
    (h) => [headers.get(h) ?? ''],
    sha256Hex(body),
  );
  const signature = v3Sign(server.accessKeySecret, v3StringToSign(canonical));
  return {
    method: 'POST',
    url: '/',
    headers: [
      ...headers,
      [
        'authorization',
        `${V3_ALGORITHM} Credential=${server.accessKeyId},SignedHeaders=${signedNames.join(';')},Signature=${signature}`,
      ],
    ],
    body,
  };
}

for (const storeKind of testStores()) {
  describe(`the signature covers what runs [${storeKind}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store: storeKind });
    });
    after(() => server.close());

    test('a V1 request acts on its signed Action parameter only: an unsigned x-acs-action header names nothing', async () => {
      const headerOnly = v1Get(server, { Version: '2016-04-28' }, [['x-acs-action', 'DescribeRegions']]);
      expectError(await replay(server.port, headerOnly), 404, 'InvalidAction.NotFound');
      const signed = v1Get(server, { Action: 'DescribeRegions', Version: '2016-04-28' }, [
        ['x-acs-action', 'DescribeRegions'],
      ]);
      expectSuccess(await replay(server.port, signed));
    });

    test('a V3 form body counts only when its Content-Type is signed: unsigned, IncompleteSignature', async () => {
      const form = 'RegionId=cn-hangzhou&TrafficMirrorFilterName=from-body';
      expectError(
        await replay(server.port, v3FormPost(server, 'CreateTrafficMirrorFilter', form, false)),
        400,
        'IncompleteSignature',
      );
      const body = expectSuccess(
        await replay(server.port, v3FormPost(server, 'CreateTrafficMirrorFilter', form, true)),
      );
      assert.match(String(body.TrafficMirrorFilterId), /^tmf-/);
    });
  });
}
