/**
 * Format=XML (spec protocol.md 7): the XML success and error forms with
 * `Content-Type: text/xml;charset=utf-8`. The clients cannot read XML answers, so the requests are
 * pop-core V1 requests signed with Format=XML, captured and replayed; the answer is checked as text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { defineOperation } from '../../src/api/operation.js';
import type { RunningServer } from '../../src/server.js';
import {
  type CaptureServer,
  captureCall,
  expectError,
  expectSuccess,
  headerOf,
  type Keys,
  listenWith,
  paramsOf,
  type RawResponse,
  replay,
  startCapture,
} from '../helpers/capture.js';
import type { ClientMode } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const XML_TYPE = 'text/xml;charset=utf-8';
const PROLOG = "<?xml version='1.0' encoding='UTF-8'?>";
const UUID = '[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}';

/** A test-only operation answering every shape the XML writer has to handle. */
const SHAPES = defineOperation({
  action: 'TestXmlShapes',
  summary: 'test only',
  access: 'read',
  params: {},
  resource: '*',
  errors: [],
  response: {
    Names: { list: 'string' },
    Items: { list: { fields: { Id: 'integer', On: 'boolean' } } },
    Empty: { list: 'string' },
    Boxes: { wrapped: 'Box', list: { fields: { Size: 'string' } } },
    Text: 'string',
    Control: 'string',
    Count: 'integer',
  },
  handler: async () => ({
    Names: ['a', 'b'],
    Items: [
      { Id: 1, On: true },
      { Id: 2, On: false },
    ],
    Empty: [],
    Boxes: { Box: [{ Size: 'S' }, { Size: 'L' }] },
    Text: `<tag> & "quotes" 'apostrophes'`,
    Control: 'a\u0001b\tc\nd\uFFFFe\u001F',
    Skipped: undefined,
    Count: 0,
  }),
});

function xmlOf(res: RawResponse, status: number): string {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers['content-type'], XML_TYPE);
  assert.ok(res.text.startsWith(PROLOG), res.text);
  return res.text.slice(PROLOG.length);
}

for (const storeKind of testStores()) {
  describe(`Format=XML [${storeKind}]`, () => {
    let server: TestServer;
    let extra: RunningServer;
    let cap: CaptureServer;
    let keys: Keys;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { regions: 'cn-hangzhou,cn-hongkong' } });
      extra = await listenWith(server, { operations: [SHAPES] });
      cap = await startCapture();
      keys = { accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    });
    after(async () => {
      await cap?.close();
      await extra?.close();
      await server?.close();
    });

    const signed = (mode: ClientMode, action: string, params: Record<string, unknown>) =>
      captureCall(cap, mode, keys, action, params);

    for (const mode of ['pop-get', 'pop-post'] as const) {
      test(`DescribeRegions with Format=XML through ${mode} is the XML success form with the Regions wrapper kept`, async () => {
        const r = await signed(mode, 'DescribeRegions', { Format: 'XML', AcceptLanguage: 'en-US' });
        const xml = xmlOf(await replay(server.port, r), 200);
        assert.match(
          xml,
          new RegExp(
            `^<DescribeRegionsResponse><RequestId>${UUID}</RequestId><Regions>` +
              '<Region><RegionId>cn-hangzhou</RegionId><LocalName>China \\(Hangzhou\\)</LocalName><RegionEndpoint>vpc.aliyuncs.com</RegionEndpoint></Region>' +
              '<Region><RegionId>cn-hongkong</RegionId><LocalName>China \\(Hong Kong\\)</LocalName><RegionEndpoint>vpc.aliyuncs.com</RegionEndpoint></Region>' +
              '</Regions></DescribeRegionsResponse>$',
          ),
        );
      });
    }

    test('Format=xml (lower case) also answers XML', async () => {
      const r = await signed('pop-get', 'DescribeRegions', { Format: 'xml' });
      xmlOf(await replay(server.port, r), 200);
    });

    test('without Format the same request answers JSON', async () => {
      const r = await signed('pop-get', 'DescribeRegions', {});
      const res = await replay(server.port, r);
      assert.equal(res.headers['content-type'], 'application/json;charset=utf-8');
    });

    test('a V3 request signed with Format=XML is still answered JSON, success and error alike (protocol.md A8)', async () => {
      const r = await signed('vpc-v3', 'DescribeRegions', { Format: 'XML', AcceptLanguage: 'en-US' });
      assert.equal(paramsOf(r).get('Format'), 'XML');
      const body = expectSuccess(await replay(server.port, r));
      assert.deepEqual(
        (body.Regions as { Region: Array<Record<string, unknown>> }).Region.map((x) => x.RegionId),
        ['cn-hangzhou', 'cn-hongkong'],
      );
      const unknown = await signed('vpc-v3', 'CopyTrafficMirrorFilter', { Format: 'XML' });
      expectError(await replay(server.port, unknown), 404, 'InvalidAction.NotFound');
    });

    test('a plain array repeats its element, a wrapped one keeps the wrapper, text is escaped, characters XML cannot carry are replaced', async () => {
      const r = await signed('pop-get', 'TestXmlShapes', { Format: 'XML' });
      const xml = xmlOf(await replay(extra.port, r), 200);
      const inner = xml.replace(new RegExp(`^<TestXmlShapesResponse><RequestId>${UUID}</RequestId>`), '');
      assert.equal(
        inner,
        '<Names>a</Names><Names>b</Names>' +
          '<Items><Id>1</Id><On>true</On></Items><Items><Id>2</Id><On>false</On></Items>' +
          '<Boxes><Box><Size>S</Size></Box><Box><Size>L</Size></Box></Boxes>' +
          '<Text>&lt;tag&gt; &amp; &quot;quotes&quot; &apos;apostrophes&apos;</Text>' +
          // What XML 1.0 cannot carry at all becomes U+FFFD; tab and newline stay.
          '<Control>a\uFFFDb\tc\nd\uFFFDe\uFFFD</Control>' +
          '<Count>0</Count>' +
          '</TestXmlShapesResponse>',
      );
    });

    test('an unknown action with Format=XML is the XML error form: Error root, 404, Recommend in CDATA', async () => {
      const r = await signed('pop-get', 'CopyTrafficMirrorFilter', { Format: 'XML' });
      const xml = xmlOf(await replay(server.port, r), 404);
      const m = new RegExp(
        `^<Error><RequestId>(${UUID})</RequestId><HostId>vpc\\.aliyuncs\\.com</HostId><Code>InvalidAction\\.NotFound</Code>` +
          '<Message>Specified api is not found, please check your url and method\\.</Message>' +
          '<Recommend><!\\[CDATA\\[https://api\\.aliyun\\.com/troubleshoot\\?q=InvalidAction\\.NotFound&product=Vpc&requestId=(' +
          UUID +
          ')\\]\\]></Recommend></Error>$',
      ).exec(xml);
      assert.ok(m, xml);
      assert.equal(m[1], m[2]);
    });

    test('a signature mismatch with Format=XML is the XML error form with the string to sign escaped', async () => {
      const r = await captureCall(
        cap,
        'pop-get',
        { accessKeyId: keys.accessKeyId, accessKeySecret: 'wrong' },
        'DescribeRegions',
        { Format: 'XML' },
      );
      const xml = xmlOf(await replay(server.port, r), 400);
      assert.match(
        xml,
        /^<Error><RequestId>[^<]+<\/RequestId><HostId>[^<]+<\/HostId><Code>SignatureDoesNotMatch<\/Code><Message>Specified signature is not matched with our calculation\. server string to sign is:GET&amp;%2F&amp;AccessKeyId%3D/,
      );
    });

    test('a request refused while its parameters are read (a key sent twice with different values) with Format=XML is answered in XML', async () => {
      const r = await signed('pop-get', 'DescribeRegions', { Format: 'XML' });
      const twice = { ...r, url: `${r.url}&AcceptLanguage=en-US&AcceptLanguage=zh-CN` };
      const xml = xmlOf(await replay(server.port, twice), 400);
      assert.match(
        xml,
        /<Code>InvalidParameter<\/Code><Message>The specified parameter &quot;AcceptLanguage&quot; is not valid\.<\/Message>/,
      );
    });

    test('a V1 request with Format=XML sent with a method other than GET or POST is UnsupportedHTTPMethod in XML; a V3 one stays JSON', async () => {
      const r = await signed('pop-get', 'DescribeRegions', { Format: 'XML' });
      for (const method of ['PUT', 'DELETE', 'PATCH'])
        assert.match(
          xmlOf(await replay(server.port, { ...r, method }), 403),
          /<Code>UnsupportedHTTPMethod<\/Code>/,
        );
      const v3 = await signed('vpc-v3', 'DescribeRegions', { Format: 'XML' });
      const res = await replay(server.port, { ...v3, method: 'PUT' });
      assert.equal(res.status, 403);
      assert.equal(res.headers['content-type'], 'application/json;charset=utf-8');
    });

    test('pop-core called with a lower-case action name (it capitalises the Action parameter, not the x-acs-action header) runs the action', async () => {
      const r = await signed('pop-get', 'describeRegions', {});
      assert.equal(paramsOf(r).get('Action'), 'DescribeRegions');
      assert.equal(headerOf(r, 'x-acs-action'), 'describeRegions');
      expectSuccess(await replay(server.port, r));
      // A header naming another action is still refused.
      const other = {
        ...r,
        headers: r.headers.map(([k, v]): [string, string] =>
          k.toLowerCase() === 'x-acs-action' ? [k, 'ListTrafficMirrorSessions'] : [k, v],
        ),
      };
      expectError(await replay(server.port, other), 400, 'InvalidParameter');
    });

    test('a validation error with Format=XML names the parameter in the XML Message', async () => {
      const r = await signed('pop-post', 'ListTagResources', {
        Format: 'XML',
        RegionId: 'cn-hangzhou',
        ResourceType: 'TRAFFICMIRRORSESSION',
        'ResourceId.1': 'tms-anything',
        MaxResults: 0,
      });
      const xml = xmlOf(await replay(server.port, r), 400);
      assert.match(
        xml,
        /<Code>InvalidParameter<\/Code><Message>The specified parameter &quot;MaxResults&quot; is not valid\.<\/Message>/,
      );
    });
  });
}
