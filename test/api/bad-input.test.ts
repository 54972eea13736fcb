/**
 * Hostile and broken requests, table-driven: each one gets a 4xx (never a 5xx, never a hang) with
 * the usual JSON envelope where HTTP allows a body, and the server keeps answering the official
 * client afterwards. Requests are written as raw bytes, or are client-signed captures changed.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type CaptureServer,
  captureCall,
  expectError,
  headerOf,
  type RawRequest,
  rawExchange,
  replay,
  startCapture,
  withBody,
  withHeader,
  withoutHeader,
} from '../helpers/capture.js';
import { callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

const CRLF = '\r\n';
const BASE = '/?Action=DescribeRegions&Version=2016-04-28';

/** One request line plus headers; Connection: close so the answer ends the exchange. */
function http(requestLine: string, headers: string[] = [], body: string | Buffer = ''): Buffer {
  const head = [requestLine, 'Host: 127.0.0.1', 'Connection: close', ...headers].join(CRLF);
  return Buffer.concat([Buffer.from(`${head}${CRLF}${CRLF}`, 'latin1'), Buffer.from(body)]);
}
function form(body: string | Buffer, extra: string[] = []): Buffer {
  const len = Buffer.byteLength(body);
  return http(
    `POST ${BASE} HTTP/1.1`,
    ['Content-Type: application/x-www-form-urlencoded', `Content-Length: ${len}`, ...extra],
    body,
  );
}

interface RawCase {
  readonly name: string;
  readonly data: () => Buffer | Array<Buffer | string>;
  readonly status: number;
  /** The wire code when the answer has a body. */
  readonly code?: string;
  readonly message?: RegExp;
}

const MIB = 1024 * 1024;

const RAW_CASES: readonly RawCase[] = [
  // percent-encoding and UTF-8
  {
    name: 'a broken percent escape in the query',
    data: () => http(`GET ${BASE}&X=%zz HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
    message: /query string is not valid: malformed percent-encoding/,
  },
  {
    name: 'a truncated percent escape at the end of the query',
    data: () => http(`GET ${BASE}&X=%4 HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a broken percent escape in a form body',
    data: () => form('Action=DescribeRegions&X=%G1'),
    status: 400,
    code: 'InvalidParameter',
    message: /request body is not valid/,
  },
  {
    name: 'percent-encoded bytes that are not UTF-8 in the query',
    data: () => http(`GET ${BASE}&X=%FF%FE HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
    message: /not UTF-8/,
  },
  {
    name: 'a percent-encoded UTF-16 surrogate (not UTF-8) in the query',
    data: () => http(`GET ${BASE}&X=%ED%A0%80 HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'an overlong UTF-8 encoding of / in the query',
    data: () => http(`GET ${BASE}&X=%C0%AF HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'raw bytes that are not UTF-8 in the request line',
    data: () => Buffer.concat([Buffer.from(`GET ${BASE}&X=`), Buffer.from([0xff, 0xfe]), http(' HTTP/1.1')]),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'raw bytes that are not UTF-8 in a form body',
    data: () => form(Buffer.concat([Buffer.from('Action=DescribeRegions&X='), Buffer.from([0xc3, 0x28])])),
    status: 400,
    code: 'InvalidParameter',
    message: /not UTF-8/,
  },
  // repeated keys
  {
    name: 'the same key twice in the query with different values',
    data: () => http(`GET ${BASE}&RegionId=cn-hangzhou&RegionId=cn-beijing HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
    message: /"RegionId"/,
  },
  {
    name: 'the same key in the query and the body with different values',
    data: () => form('Version=2015-01-01'),
    status: 400,
    code: 'InvalidParameter',
    message: /"Version"/,
  },
  // sizes
  {
    name: 'a 70 KB parameter value in a form body',
    data: () => form(`Action=DescribeRegions&Big=${'v'.repeat(70 * 1024)}`),
    status: 400,
    code: 'InvalidParameter',
    message: /"Big"/,
  },
  {
    name: 'a 1 KB parameter name',
    data: () => form(`${'K'.repeat(1024)}=1`),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: '3000 parameters',
    data: () => form(Array.from({ length: 3000 }, (_, i) => `P${i}=1`).join('&')),
    status: 400,
    code: 'InvalidParameter',
    message: /more than 2000 parameters/,
  },
  {
    name: 'a 100 KB query string (over the 96 KiB header size limit)',
    data: () => http(`GET ${BASE}&Big=${'q'.repeat(100 * 1024)} HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
    message: /headers are too large/,
  },
  {
    name: 'a 100 KB header',
    data: () => http(`GET ${BASE} HTTP/1.1`, [`X-Big: ${'h'.repeat(100 * 1024)}`]),
    status: 400,
    code: 'InvalidParameter',
    message: /headers are too large/,
  },
  {
    name: '20000 small headers',
    data: () =>
      http(
        `GET ${BASE} HTTP/1.1`,
        Array.from({ length: 20000 }, (_, i) => `X-H${i}: 1`),
      ),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a body of 1 MiB + 1 byte (the default limit) declared by Content-Length',
    data: () => form(Buffer.alloc(MIB + 1, 'a')),
    status: 400,
    code: 'InvalidParameter',
    message: /request body exceeds 1048576 bytes/,
  },
  {
    name: 'a chunked body of 4 MiB (no Content-Length)',
    data: () => {
      const chunk = Buffer.alloc(MIB, 'a');
      const head = http(`POST ${BASE} HTTP/1.1`, ['Transfer-Encoding: chunked', 'Content-Type: text/plain']);
      const parts: Array<Buffer | string> = [head];
      for (let i = 0; i < 4; i++) parts.push(`${chunk.length.toString(16)}${CRLF}`, chunk, CRLF);
      parts.push(`0${CRLF}${CRLF}`);
      return parts;
    },
    status: 400,
    code: 'InvalidParameter',
    message: /request body exceeds/,
  },
  // content types
  {
    name: 'parameters sent as a JSON body',
    data: () =>
      // Signed as V1 as far as the parameters go: the JSON body's Version is not read either.
      http(
        'POST /?AccessKeyId=x HTTP/1.1',
        ['Content-Type: application/json', 'Content-Length: 48'],
        '{"Action":"DescribeRegions","Version":"2016-04-28"}'.slice(0, 48),
      ),
    status: 400,
    code: 'InvalidVersion',
  },
  {
    name: 'a multipart/form-data body',
    data: () => {
      const body = `--b${CRLF}Content-Disposition: form-data; name="Action"${CRLF}${CRLF}DescribeRegions${CRLF}--b--${CRLF}`;
      return http(
        `POST ${BASE} HTTP/1.1`,
        ['Content-Type: multipart/form-data; boundary=b', `Content-Length: ${Buffer.byteLength(body)}`],
        body,
      );
    },
    status: 400,
    code: 'MissingAccessKeyId',
  },
  {
    name: 'a form body with a garbage Content-Type',
    data: () => http(`POST ${BASE} HTTP/1.1`, ['Content-Type: ;;;===', 'Content-Length: 5'], 'a=b&c'),
    status: 400,
    code: 'MissingAccessKeyId',
  },
  // empty and missing headers
  {
    name: 'an empty Authorization header and no other credentials',
    data: () => http(`GET ${BASE} HTTP/1.1`, ['Authorization: ']),
    status: 400,
    code: 'MissingAccessKeyId',
  },
  {
    name: 'empty x-acs-action and x-acs-version headers',
    data: () =>
      http('GET / HTTP/1.1', ['Authorization: ACS3-HMAC-SHA256 x', 'x-acs-action: ', 'x-acs-version: ']),
    status: 400,
    code: 'InvalidVersion',
  },
  {
    name: 'no Host header on HTTP/1.1',
    data: () => Buffer.from(`GET ${BASE} HTTP/1.1${CRLF}Connection: close${CRLF}${CRLF}`),
    status: 400,
    code: 'InvalidParameter',
    message: /no Host header/,
  },
  // garbage Authorization headers
  ...[
    'ACS3-HMAC-SHA256',
    'ACS3-HMAC-SHA256 ',
    'ACS3-HMAC-SHA256 garbage',
    'ACS3-HMAC-SHA256 Credential=,SignedHeaders=,Signature=',
    'ACS3-HMAC-SHA256 Credential=x,SignedHeaders=host,Signature=00',
    'ACS3-HMAC-SHA256 Credential=x;SignedHeaders=host;Signature=00',
    `ACS3-HMAC-SHA256 Credential=${'c'.repeat(8000)},SignedHeaders=host,Signature=00`,
    'ACS3-RSA-SHA256 Credential=x,SignedHeaders=host,Signature=00',
  ].map(
    (auth): RawCase => ({
      name: `a garbage Authorization header (${auth.slice(0, 60)})`,
      data: () => http(`GET ${BASE} HTTP/1.1`, [`Authorization: ${auth}`]),
      status: 400,
      code: 'IncompleteSignature',
    }),
  ),
  {
    name: 'a Basic Authorization header',
    data: () => http(`GET ${BASE} HTTP/1.1`, ['Authorization: Basic dXNlcjpwYXNz']),
    status: 400,
    code: 'MissingAccessKeyId',
  },
  {
    name: 'an Authorization header of control characters',
    data: () =>
      Buffer.concat([
        http(`GET ${BASE} HTTP/1.1`).subarray(0, -2),
        Buffer.from('Authorization: ACS3-\x01\x02\x7f\r\n\r\n', 'latin1'),
      ]),
    status: 400,
  },
  // methods and framing
  ...['PROPFIND', 'TRACE', 'PUT', 'DELETE', 'OPTIONS'].map(
    (m): RawCase => ({
      name: `the method ${m}`,
      data: () => http(`${m} ${BASE} HTTP/1.1`),
      status: 403,
      code: 'UnsupportedHTTPMethod',
    }),
  ),
  {
    name: 'a method node:http does not know (BREW)',
    data: () => http(`BREW ${BASE} HTTP/1.1`),
    status: 403,
    code: 'UnsupportedHTTPMethod',
  },
  {
    name: 'CONNECT',
    data: () => http('CONNECT 127.0.0.1:80 HTTP/1.1'),
    status: 403,
    code: 'UnsupportedHTTPMethod',
  },
  {
    name: 'a request line that is not HTTP',
    data: () => Buffer.from(`hello there${CRLF}${CRLF}`),
    status: 403,
  },
  {
    name: 'an unknown HTTP version',
    data: () => http(`GET ${BASE} HTTP/7.1`),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'a Content-Length that is not a number',
    data: () => http(`POST ${BASE} HTTP/1.1`, ['Content-Length: ten']),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'two different Content-Length headers',
    data: () => http(`POST ${BASE} HTTP/1.1`, ['Content-Length: 1', 'Content-Length: 2'], 'ab'),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'broken chunked framing (an unreadable body)',
    data: () =>
      http(`POST ${BASE} HTTP/1.1`, ['Transfer-Encoding: chunked'], `zz${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
    status: 400,
    code: 'InvalidParameter',
  },
  {
    name: 'both Content-Length and Transfer-Encoding',
    data: () =>
      http(
        `POST ${BASE} HTTP/1.1`,
        ['Content-Length: 3', 'Transfer-Encoding: chunked'],
        `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      ),
    status: 400,
    code: 'InvalidParameter',
  },
  // paths and odd queries
  {
    name: 'a path other than /',
    data: () => http('GET /../../etc/passwd?Action=DescribeRegions&Version=2016-04-28 HTTP/1.1'),
    status: 404,
    code: 'InvalidAction.NotFound',
  },
  {
    name: 'a query of separators and empty names',
    data: () => http('GET /?&&&=&== HTTP/1.1'),
    status: 400,
    code: 'InvalidParameter',
    message: /empty parameter name/,
  },
  {
    name: 'a NUL byte in a parameter value',
    data: () => http(`GET ${BASE}&X=%00 HTTP/1.1`),
    status: 400,
    code: 'InvalidParameter',
    message: /"X"/,
  },
  {
    name: 'an Action of 10 KB',
    data: () => http(`GET /?AccessKeyId=x&Action=${'A'.repeat(10 * 1024)}&Version=2016-04-28 HTTP/1.1`),
    status: 404,
    code: 'InvalidAction.NotFound',
  },
];

for (const storeKind of testStores()) {
  describe(`bad input [${storeKind}]`, () => {
    let server: TestServer;
    let cap: CaptureServer;
    before(async () => {
      server = await startTestServer({ store: storeKind });
      cap = await startCapture();
    });
    after(async () => {
      await cap?.close();
      await server?.close();
    });

    /** The server still answers: an unsigned request gets its ordinary 400. */
    async function stillAnswers(): Promise<void> {
      const res = await rawExchange(server.port, http(`GET ${BASE} HTTP/1.1`));
      assert.equal(res.status, 400);
      assert.equal((JSON.parse(res.text) as Record<string, unknown>).Code, 'MissingAccessKeyId');
    }

    for (const c of RAW_CASES) {
      test(`${c.name} is answered ${c.status}${c.code ? ` ${c.code}` : ''}, and the server keeps answering`, async () => {
        const res = await rawExchange(server.port, c.data(), 10_000);
        assert.equal(res.status, c.status, `${c.name}: ${res.raw.toString('latin1').slice(0, 300)}`);
        if (c.code) {
          const body = expectError(
            { status: res.status ?? 0, headers: res.headers, text: res.text },
            c.status,
            c.code,
          );
          if (c.message) assert.match(String(body.Message), c.message);
        }
        await stillAnswers();
      });
    }

    test('HEAD is answered 403 without a body, and the server keeps answering', async () => {
      const res = await rawExchange(server.port, http(`HEAD ${BASE} HTTP/1.1`));
      assert.equal(res.status, 403);
      assert.equal(res.text, '');
      await stillAnswers();
    });

    /** Client-signed requests, changed in ways no client would. */
    const MUTATIONS: ReadonlyArray<{
      name: string;
      change: (r: RawRequest) => RawRequest;
      status: number;
      code: string;
    }> = [
      {
        name: 'without its Authorization header',
        change: (r) => withoutHeader(r, 'authorization'),
        status: 400,
        code: 'MissingAccessKeyId',
      },
      {
        name: 'with an empty Authorization header',
        change: (r) => withHeader(r, 'Authorization', ''),
        status: 400,
        code: 'MissingAccessKeyId',
      },
      {
        name: 'without x-acs-date',
        change: (r) => withoutHeader(r, 'x-acs-date'),
        status: 400,
        code: 'SignatureDoesNotMatch',
      },
      {
        name: 'without x-acs-signature-nonce',
        change: (r) => withoutHeader(r, 'x-acs-signature-nonce'),
        status: 400,
        code: 'IncompleteSignature',
      },
      {
        name: 'without x-acs-action',
        change: (r) => withoutHeader(r, 'x-acs-action'),
        status: 404,
        code: 'InvalidAction.NotFound',
      },
      {
        name: 'without x-acs-version',
        change: (r) => withoutHeader(r, 'x-acs-version'),
        status: 400,
        code: 'InvalidVersion',
      },
      {
        name: 'with an empty x-acs-content-sha256',
        change: (r) => withHeader(r, 'x-acs-content-sha256', ''),
        status: 400,
        code: 'IncompleteSignature',
      },
      {
        name: 'with a 2 MiB body',
        change: (r) => withBody(r, Buffer.alloc(2 * MIB, 'b'), 'application/octet-stream'),
        status: 400,
        code: 'InvalidParameter',
      },
      {
        name: 'with x-acs-date not a date',
        change: (r) => withHeader(r, 'x-acs-date', 'Tuesday'),
        status: 400,
        code: 'SignatureDoesNotMatch',
      },
      {
        name: 'with its signature upper-cased',
        change: (r) =>
          withHeader(
            r,
            'Authorization',
            (headerOf(r, 'authorization') ?? '').replace(
              /Signature=(\w+)$/,
              (_m, s: string) => `Signature=${s.toUpperCase()}`,
            ),
          ),
        status: 400,
        code: 'SignatureDoesNotMatch',
      },
    ];
    for (const m of MUTATIONS) {
      test(`an SDK V3 DescribeRegions request ${m.name} is ${m.code} (${m.status}), and the server keeps answering`, async () => {
        const r = await captureCall(
          cap,
          'vpc-v3',
          { accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
          'DescribeRegions',
          {},
        );
        expectError(await replay(server.port, m.change(r), 10_000), m.status, m.code);
        await stillAnswers();
      });
    }

    test('after every bad request above, the official client still gets DescribeRegions', async () => {
      const body = await callVia('vpc-v3', server, 'DescribeRegions', {});
      assert.ok(Array.isArray((body.Regions as { Region: unknown[] }).Region));
    });
  });

  describe(`--body-limit [${storeKind}]`, () => {
    let server: TestServer;
    const logLines: string[] = [];
    before(async () => {
      server = await startTestServer({
        store: storeKind,
        flags: { 'body-limit': '2048' },
        logSink: logLines,
      });
    });
    after(() => server?.close());

    test('a 2049-byte body over --body-limit 2048 is InvalidParameter naming the limit; 2048 bytes are read', async () => {
      const over = await rawExchange(server.port, form(`A=${'x'.repeat(2047)}`));
      const body = expectError(
        { status: over.status ?? 0, headers: over.headers, text: over.text },
        400,
        'InvalidParameter',
      );
      assert.equal(body.Message, 'The request body exceeds 2048 bytes.');
      const at = await rawExchange(server.port, form(`A=${'x'.repeat(2046)}`));
      expectError({ status: at.status ?? 0, headers: at.headers, text: at.text }, 400, 'MissingAccessKeyId');
    });

    test('Expect: 100-continue with a declared body over the limit is refused at once, without 100 Continue; within it the body is asked for; another Expect is ignored', async () => {
      /** Sends the bytes, then `more` once the server has said anything; reads until it closes. */
      const talk = (first: string, more = '') =>
        new Promise<string>((resolve, reject) => {
          let got = '';
          const s = connect(server.port, '127.0.0.1', () => s.write(first));
          s.setEncoding('latin1');
          s.on('data', (c: string) => {
            if (got === '' && more !== '') s.write(more);
            got += c;
          });
          s.on('error', reject);
          s.on('close', () => resolve(got));
        });
      const head = (length: number, expect: string) =>
        `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${length}\r\nExpect: ${expect}\r\n\r\n`;
      const over = await talk(head(4096, '100-continue'));
      assert.match(over, /^HTTP\/1\.1 400 /);
      assert.match(over, /The request body exceeds 2048 bytes/);
      const body = `Action=DescribeRegions&A=${'x'.repeat(20)}`;
      const within = await talk(head(body.length, '100-continue'), body);
      assert.match(within, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 400 /);
      assert.match(within, /MissingAccessKeyId/);
      const other = await talk(`${head(body.length, 'something-else')}${body}`);
      assert.match(other, /^HTTP\/1\.1 400 /);
      assert.match(other, /MissingAccessKeyId/);
    });

    test('a request cut off in its body is access-logged once: whether the client half-closes or resets', async () => {
      const ACCESS =
        /^(request|request refused before parsing|unparseable request refused|the client went away before its request was complete)$/;
      const access = () =>
        logLines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((l) => ACCESS.test(String(l.msg)));
      const partial =
        'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n';
      /** Sends headers, waits for 100 Continue (the request is being read), then part of the body and `cut`. */
      const cutOff = (cut: 'end' | 'reset') =>
        new Promise<string>((resolve) => {
          let got = '';
          const s = connect(server.port, '127.0.0.1', () => s.write(partial));
          s.setEncoding('latin1');
          s.on('data', (c: string) => {
            const first = got === '';
            got += c;
            if (!first) return;
            if (cut === 'end') s.end('Action=Describe');
            else s.write('Action=Describe', () => s.resetAndDestroy());
          });
          s.on('error', () => undefined);
          s.on('close', () => resolve(got));
        });
      const stillAnswers = async () => {
        const res = await rawExchange(server.port, http(`GET ${BASE} HTTP/1.1`));
        assert.equal(res.status, 400);
      };

      const before = access().length;
      const ended = await cutOff('end');
      assert.match(ended, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 400 /);
      await stillAnswers();
      const afterEnd = access().slice(before);
      assert.deepEqual(
        afterEnd.map((l) => l.msg),
        ['unparseable request refused', 'request'],
      );

      await cutOff('reset');
      await stillAnswers();
      // The server may take the reset after the next connection's request: wait for its line
      // (bounded), in whichever order the two come.
      const since = before + afterEnd.length;
      for (let i = 0; access().length < since + 2 && i < 500; i++) await delay(10);
      // The reset reaches the server as the end of the stream mid-body (refused, the answer lost)
      // or as a read error (gone): either way one line.
      const afterReset = access().slice(since);
      assert.equal(afterReset.length, 2, JSON.stringify(afterReset));
      const [cut, next] = afterReset[0]?.msg === 'request' ? [afterReset[1], afterReset[0]] : afterReset;
      assert.match(
        String(cut?.msg),
        /^(unparseable request refused|the client went away before its request was complete)$/,
      );
      assert.equal(next?.msg, 'request');
    });

    test('requests refused before the pipeline (body too large, unparseable HTTP) are access-logged with their RequestId', async () => {
      const logged = (requestId: unknown) =>
        logLines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.requestId === requestId && typeof l.latencyMs === 'number' && 'code' in l);
      const big = await rawExchange(server.port, form(`A=${'x'.repeat(4000)}`));
      const bigBody = JSON.parse(big.text) as Record<string, unknown>;
      assert.equal(logged(bigBody.RequestId)?.code, 'InvalidParameter');
      const junk = await rawExchange(server.port, http('GET / HTTP/9.9'));
      const junkBody = JSON.parse(junk.text) as Record<string, unknown>;
      assert.equal(logged(junkBody.RequestId)?.code, 'InvalidParameter');
    });
  });
}
