/**
 * HTTPS (`--tls-cert`/`--tls-key`): the official clients in their default protocol, every signature
 * mode, and `acs:SecureTransport` true over TLS only. The certificate is a self-signed test fixture
 * (test/fixtures/tls, for 127.0.0.1, ::1 and localhost) that the clients are told to trust.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  attachPolicy,
  createAccessKey,
  createPolicy,
  createUser,
} from '../../src/accounts/accounts.service.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { rawExchange } from '../helpers/capture.js';
import { CLIENT_MODES, type Credentials, callVia, expectCode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
const CERT = join(FIXTURES, 'cert.pem');
const KEY = join(FIXTURES, 'key.pem');
const TRUSTED = readFileSync(CERT, 'utf8');
const REGION = 'cn-hangzhou';

for (const storeKind of testStores()) {
  describe(`HTTPS [${storeKind}]`, () => {
    let tls: TestServer;
    let plain: TestServer;
    before(async () => {
      tls = await startTestServer({ store: storeKind, flags: { 'tls-cert': CERT, 'tls-key': KEY } });
      // The same store over plain HTTP: the same principals, seen without TLS.
      plain = await startTestServer({ store: storeKind, database: tls.database });
    });
    after(async () => {
      await plain?.close();
      await tls?.close();
    });

    const overTls = (c: Omit<Credentials, 'endpoint'>): Credentials => ({
      ...c,
      endpoint: tls.endpoint,
      ca: TRUSTED,
    });

    test('every client mode calls the server over TLS (vpc20160428 with protocol https, pop-core with an https endpoint)', async () => {
      assert.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      for (const mode of CLIENT_MODES) {
        const body = await callVia(mode, overTls(tls), 'DescribeRegions', { AcceptLanguage: 'en-US' });
        assert.ok(Array.isArray((body.Regions as { Region?: unknown })?.Region), mode);
      }
      const created = await callVia('vpc-v3', overTls(tls), 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        TrafficMirrorFilterName: 'over-tls',
      });
      assert.match(String(created.TrafficMirrorFilterId), /^tmf-/);
    });

    test('a client that does not trust the certificate is refused by its own TLS check, and plain HTTP to the port gets no answer', async () => {
      await assert.rejects(
        callVia('vpc-v3', { ...overTls(tls), ca: '' }, 'DescribeRegions', {}),
        /self[- ]signed|certificate/i,
      );
      const plainAnswer = await rawExchange(
        tls.port,
        'GET /?Action=DescribeRegions HTTP/1.1\r\nHost: x\r\n\r\n',
      );
      assert.equal(plainAnswer.raw.toString('latin1'), '', 'no answer in plain HTTP');
      // The server is none the worse for either.
      await callVia('pop-post', overTls(tls), 'DescribeRegions', {});
    });

    test('acs:SecureTransport is true over TLS and false over plain HTTP (protocol.md 11.3)', async () => {
      const db = tls.store.db;
      const now = Date.now();
      const userName = `tls-user-${storeKind}`;
      await createUser(db, { accountId: tls.accountId, name: userName }, now);
      await createPolicy(
        db,
        {
          accountId: tls.accountId,
          name: `${userName}-tls-only`,
          document: {
            Version: '1',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'vpc:ListTrafficMirrorFilters',
                Resource: '*',
                Condition: { Bool: { 'acs:SecureTransport': 'true' } },
              },
            ],
          },
        },
        now,
      );
      await attachPolicy(db, {
        accountId: tls.accountId,
        principal: { type: 'User', name: userName },
        policyName: `${userName}-tls-only`,
      });
      const key = await createAccessKey(db, { accountId: tls.accountId, userName }, now);
      const keys = { accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret };
      for (const mode of CLIENT_MODES) {
        await callVia(mode, overTls(keys), 'ListTrafficMirrorFilters', { RegionId: REGION });
        await expectCode(
          () =>
            callVia(mode, { ...keys, endpoint: plain.endpoint }, 'ListTrafficMirrorFilters', {
              RegionId: REGION,
            }),
          'Forbidden.RAM',
        );
      }
    });
  });
}

describe('--tls-cert and --tls-key', () => {
  test('are given together, must be readable, and must be a certificate with its key', () => {
    const refused = (flags: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadConfig(flags, {}),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      );
    refused({ 'tls-cert': CERT }, /--tls-cert needs --tls-key too/);
    refused({ 'tls-key': KEY }, /--tls-key needs --tls-cert too/);
    refused({ 'tls-cert': join(FIXTURES, 'missing.pem'), 'tls-key': KEY }, /--tls-cert: cannot read/);
    refused({ 'tls-cert': KEY, 'tls-key': CERT }, /not a PEM certificate and its private key/);
    assert.equal(loadConfig({ 'tls-cert': CERT, 'tls-key': KEY }, {}).tls?.cert.toString('utf8'), TRUSTED);
    assert.equal(loadConfig({}, {}).tls, undefined);
    const fromEnv = loadConfig({}, { VPCMIRROR_TLS_CERT: CERT, VPCMIRROR_TLS_KEY: KEY });
    assert.ok(fromEnv.tls);
  });
});
