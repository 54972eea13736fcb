/**
 * `vpcmirror call <Action> --Param value …` as a process: prints the JSON answer, exits non-zero
 * on an error answer, signs V3 by default or V1 with --signature v1, POST or --method GET, and
 * takes the endpoint and keys from flags, the environment or the data directory. What it sends is
 * checked on a capture server; that the server accepts it, on a real one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CaptureServer, headerOf, paramsOf, startCapture } from '../helpers/capture.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'vpcmirror.js');

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the CLI to completion (bounded) in a scratch directory, without the runner's VPCMIRROR_*. */
function vpcmirror(args: string[], env: Record<string, string> = {}, cwd = tmpdir()): Promise<Run> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VPCMIRROR_')) clean[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...clean, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vpcmirror ${args.join(' ')} did not finish: ${err}`));
    }, 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('vpcmirror call', () => {
  let server: TestServer;
  let cap: CaptureServer;
  let scratch: string;
  let keyFlags: string[];
  before(async () => {
    server = await startTestServer();
    cap = await startCapture();
    scratch = mkdtempSync(join(tmpdir(), 'vpcmirror-call-'));
    keyFlags = ['--access-key-id', server.accessKeyId, '--access-key-secret', server.accessKeySecret];
  });
  after(async () => {
    await cap?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('call DescribeRegions with --endpoint and key flags prints the JSON answer and exits 0', async () => {
    const r = await vpcmirror([
      'call',
      'DescribeRegions',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
      '--AcceptLanguage',
      'en-US',
    ]);
    assert.equal(r.code, 0, r.err);
    const body = JSON.parse(r.out) as { Regions: { Region: Array<{ RegionId: string; LocalName: string }> } };
    assert.equal(
      body.Regions.Region.find((x) => x.RegionId === 'cn-hongkong')?.LocalName,
      'China (Hong Kong)',
    );
  });

  for (const [flags, method, scheme] of [
    [[], 'POST', 'V3'],
    [['--method', 'GET'], 'GET', 'V3'],
    [['--signature', 'v1'], 'POST', 'V1'],
    [['--signature', 'v1', '--method', 'GET'], 'GET', 'V1'],
  ] as const) {
    test(`call ${flags.join(' ') || '(defaults)'} sends a ${scheme} ${method} that the server accepts`, async () => {
      cap.requests.length = 0;
      const sent = await vpcmirror([
        'call',
        'ListTagResources',
        '--endpoint',
        cap.endpoint,
        ...keyFlags,
        ...flags,
        '--RegionId',
        'cn-hangzhou',
        '--ResourceType',
        'TRAFFICMIRRORSESSION',
        '--ResourceId.1',
        'tms-a b',
      ]);
      assert.equal(sent.code, 0, sent.err);
      const [req] = cap.requests.splice(0);
      assert.ok(req);
      assert.equal(req.method, method);
      const params = paramsOf(req);
      assert.equal(params.get('ResourceId.1'), 'tms-a b');
      if (scheme === 'V3') {
        assert.match(headerOf(req, 'authorization') ?? '', /^ACS3-HMAC-SHA256 Credential=/);
        assert.equal(headerOf(req, 'x-acs-action'), 'ListTagResources');
        assert.equal(params.has('Signature'), false);
      } else {
        assert.equal(headerOf(req, 'authorization'), undefined);
        assert.equal(params.get('SignatureVersion'), '1.0');
        assert.equal(params.get('Action'), 'ListTagResources');
        assert.ok(params.get('Signature'));
      }

      const real = await vpcmirror([
        'call',
        'ListTagResources',
        '--endpoint',
        server.endpoint,
        ...keyFlags,
        ...flags,
        '--RegionId',
        'cn-hangzhou',
        '--ResourceType',
        'TRAFFICMIRRORSESSION',
        '--ResourceId.1',
        'tms-a b',
      ]);
      assert.equal(real.code, 0, real.out + real.err);
      assert.deepEqual((JSON.parse(real.out) as { TagResources: unknown }).TagResources, { TagResource: [] });
    });
  }

  test('an error answer is printed as JSON and exits 1', async () => {
    const r = await vpcmirror([
      'call',
      'ListTagResources',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
      '--ResourceType',
      'TRAFFICMIRRORSESSION',
    ]);
    assert.equal(r.code, 1);
    const body = JSON.parse(r.out) as Record<string, unknown>;
    assert.equal(body.Code, 'MissingRegionId');
  });

  test('the endpoint and keys come from VPCMIRROR_ENDPOINT and VPCMIRROR_ACCESS_KEY_ID/SECRET', async () => {
    const r = await vpcmirror(['call', 'DescribeRegions'], {
      VPCMIRROR_ENDPOINT: server.endpoint,
      VPCMIRROR_ACCESS_KEY_ID: server.accessKeyId,
      VPCMIRROR_ACCESS_KEY_SECRET: server.accessKeySecret,
    });
    assert.equal(r.code, 0, r.err);
    assert.ok('Regions' in (JSON.parse(r.out) as Record<string, unknown>));
  });

  test('the endpoint and keys come from the data directory (credentials.json and the endpoint serve recorded)', async () => {
    const dataDir = join(scratch, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      join(dataDir, 'credentials.json'),
      JSON.stringify({
        accountId: server.accountId,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
        generated: true,
      }),
    );
    writeFileSync(join(dataDir, 'endpoint'), `${server.endpoint}\n`);
    const byFlag = await vpcmirror(['call', 'DescribeRegions', '--data-dir', dataDir]);
    assert.equal(byFlag.code, 0, byFlag.err);
    const byEnv = await vpcmirror(['call', 'DescribeRegions'], { VPCMIRROR_DATA_DIR: dataDir });
    assert.equal(byEnv.code, 0, byEnv.err);
    const elsewhere = join(scratch, 'elsewhere');
    mkdirSync(elsewhere);
    const byDefault = await vpcmirror(['call', 'DescribeRegions'], {}, elsewhere);
    assert.equal(byDefault.code, 2, 'no ./.vpcmirror there: no credentials');
    mkdirSync(join(elsewhere, '.vpcmirror'));
    writeFileSync(
      join(elsewhere, '.vpcmirror', 'credentials.json'),
      JSON.stringify({
        accountId: server.accountId,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
      }),
    );
    writeFileSync(join(elsewhere, '.vpcmirror', 'endpoint'), server.endpoint);
    const fromCwd = await vpcmirror(['call', 'DescribeRegions'], {}, elsewhere);
    assert.equal(fromCwd.code, 0, 'the default data directory is ./.vpcmirror');
  });

  test('a flag wins over the environment: a wrong VPCMIRROR_ACCESS_KEY_SECRET is overridden by --access-key-secret', async () => {
    const r = await vpcmirror(['call', 'DescribeRegions', '--endpoint', server.endpoint, ...keyFlags], {
      VPCMIRROR_ACCESS_KEY_ID: server.accessKeyId,
      VPCMIRROR_ACCESS_KEY_SECRET: 'wrong',
    });
    assert.equal(r.code, 0, r.out);
  });

  test('without credentials anywhere it exits 2 saying where credentials come from', async () => {
    const r = await vpcmirror([
      'call',
      'DescribeRegions',
      '--endpoint',
      server.endpoint,
      '--data-dir',
      join(scratch, 'empty'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.err, /no credentials: pass --access-key-id and --access-key-secret/);
    // A credentials file that is there but damaged is said to be so, not missing.
    const damaged = join(scratch, 'damaged');
    mkdirSync(damaged, { recursive: true });
    writeFileSync(join(damaged, 'credentials.json'), '{bad');
    const d = await vpcmirror([
      'call',
      'DescribeRegions',
      '--endpoint',
      server.endpoint,
      '--data-dir',
      damaged,
    ]);
    assert.equal(d.code, 2);
    assert.match(d.err, /credentials\.json is damaged \(not the JSON a server writes\)/);
  });

  test('with nothing listening it exits 1 saying so', async () => {
    const r = await vpcmirror(['call', 'DescribeRegions', '--endpoint', '127.0.0.1:1', ...keyFlags]);
    assert.equal(r.code, 1);
    assert.match(r.err, /nothing is listening there/);
  });

  test('a misspelled action gets the nearest one; a parameter the action does not take is warned about, with the name meant', async () => {
    const action = await vpcmirror(['call', 'DescribeRegion', '--endpoint', server.endpoint, ...keyFlags]);
    assert.equal(action.code, 1);
    assert.match(action.err, /DescribeRegion is not an action of this API; did you mean DescribeRegions\?/);
    const list = await vpcmirror([
      'call',
      'ListTrafficMirrorSessions',
      '--RegionId',
      'cn-hangzhou',
      '--MaxResult',
      '5',
      '--Wait',
      'true',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.equal(list.code, 0, list.err);
    assert.match(
      list.err,
      /takes no parameter MaxResult \(did you mean --MaxResults\?\); the server ignores it/,
    );
    assert.match(list.err, /takes no parameter Wait \(the flag of vpcmirror call is --wait, in lower case\)/);
    // A list without its index is refused, as the warning says.
    const bare = await vpcmirror([
      'call',
      'ListTrafficMirrorSessions',
      '--RegionId',
      'cn-hangzhou',
      '--TrafficMirrorSessionIds',
      'tms-x',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.equal(bare.code, 1, bare.err);
    assert.match(
      bare.err,
      /takes no parameter TrafficMirrorSessionIds \(a list: write --TrafficMirrorSessionIds\.1 …\); the server refuses it/,
    );
    assert.match(bare.err, /HTTP 400 InvalidParameter/);
    const ok = await vpcmirror([
      'call',
      'ListTrafficMirrorSessions',
      '--RegionId',
      'cn-hangzhou',
      '--TrafficMirrorSessionIds.1',
      'tms-x',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.equal(ok.err, '', 'nothing to say about parameters the action takes');
    const flag = await vpcmirror([
      'call',
      'DescribeRegions',
      '--wiat',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /unknown flag --wiat; did you mean --wait\?/);
    // A name too short to be a slip of another is suggested nothing.
    const short = await vpcmirror([
      'call',
      'DescribeRegions',
      '--db',
      'x',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.match(
      short.err,
      /^vpcmirror: unknown flag --db \(parameters of the API start with a capital\)\n$/,
    );
    // A malformed member of a list the action takes is refused by the server, and said so.
    const member = await vpcmirror([
      'call',
      'CreateTrafficMirrorFilter',
      '--RegionId',
      'cn-hangzhou',
      '--Tag.1',
      'x',
      '--DryRun',
      'true',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.match(
      member.err,
      /takes no parameter Tag\.1 \(did you mean --Tag\.1\.Key\?\); the server refuses it/,
    );
    assert.match(member.out, /"Code": "InvalidParameter"/);
  });

  test('an endpoint that is not host:port, a data directory whose server is not running, and a non-ASCII key id exit 2 naming the mistake', async () => {
    for (const endpoint of [
      '127.0.0.1:abc',
      '127.0.0.1:99999',
      'http://127.0.0.1:8787/vpc',
      'ftp://127.0.0.1:80',
    ]) {
      const r = await vpcmirror(['call', 'DescribeRegions', '--endpoint', endpoint, ...keyFlags]);
      assert.equal(r.code, 2, `${endpoint}: ${r.err}`);
      assert.match(r.err, /is not an endpoint: give host:port, http:\/\/host:port or https:\/\/host:port/);
    }
    const dir = join(scratch, 'no-server');
    mkdirSync(dir, { recursive: true });
    const stopped = await vpcmirror(['call', 'DescribeRegions', '--data-dir', dir, ...keyFlags]);
    assert.equal(stopped.code, 2);
    assert.match(
      stopped.err,
      /no server is recorded in .*endpoint \(none was started there, or the last one started there has stopped\): give --endpoint, or start one with `vpcmirror serve --data-dir/,
    );
    const key = await vpcmirror([
      'call',
      'DescribeRegions',
      '--endpoint',
      server.endpoint,
      '--access-key-id',
      'LTAIключ',
      '--access-key-secret',
      'x',
    ]);
    assert.equal(key.code, 2);
    assert.match(key.err, /the AccessKey id has a character an HTTP header cannot carry/);
    assert.ok(!/\n\s+at /.test(key.err), 'no stack trace');
    // A --wait's timer longer than Node keeps would fire at once: polling without pause.
    for (const flag of ['--interval', '--timeout']) {
      const long = await vpcmirror([
        'call',
        'DescribeRegions',
        '--endpoint',
        server.endpoint,
        ...keyFlags,
        '--wait',
        flag,
        '2200000',
      ]);
      assert.equal(long.code, 2, long.err);
      assert.match(
        long.err,
        new RegExp(`${flag} is at most 2147483 seconds \\(about 24 days\\), got "2200000"`),
      );
    }
  });

  test('an endpoint that answers something other than JSON, and a host that does not exist, are one line each', async () => {
    const notJson = createServer((_req, res) => res.writeHead(501).end('<!DOCTYPE html><p>no</p>'));
    await new Promise<void>((resolve) => notJson.listen(0, '127.0.0.1', resolve));
    try {
      const address = notJson.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const r = await vpcmirror(['call', 'DescribeRegions', '--endpoint', `127.0.0.1:${port}`, ...keyFlags]);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /^vpcmirror: HTTP 501: the answer is not JSON, so that is not a vpcmirror or Alibaba Cloud endpoint/,
      );
      assert.ok(!/\n\s+at /.test(r.err), r.err);
    } finally {
      await new Promise<void>((resolve) => notJson.close(() => resolve()));
    }
    const host = await vpcmirror([
      'call',
      'DescribeRegions',
      '--endpoint',
      'nosuchhost.invalid:80',
      ...keyFlags,
    ]);
    assert.equal(host.code, 2);
    assert.match(host.err, /^vpcmirror: no such host \(.*\); check the host of --endpoint or --host\n$/);
  });

  test('a stray positional argument or a bad --signature exits 2', async () => {
    const stray = await vpcmirror(['call', 'DescribeRegions', 'oops', ...keyFlags]);
    assert.equal(stray.code, 2);
    assert.match(stray.err, /unexpected argument "oops"/);
    const bad = await vpcmirror(['call', 'DescribeRegions', '--signature', 'v2', ...keyFlags]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--signature is v1 or v3/);
  });

  test('a --timeout or --interval that is not a positive number exits 2 before the call is sent', async () => {
    for (const [flag, value] of [
      ['--timeout', 'abc'],
      ['--timeout', '0'],
      ['--interval', '-1'],
      ['--interval', ''],
    ] as const) {
      const r = await vpcmirror([
        'call',
        'CreateTrafficMirrorFilter',
        '--RegionId',
        'cn-hangzhou',
        '--TrafficMirrorFilterName',
        'never-made',
        '--wait',
        flag,
        value,
        '--endpoint',
        server.endpoint,
        ...keyFlags,
      ]);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.err}`);
      assert.match(r.err, new RegExp(`${flag} is a number of seconds`));
    }
    const listed = await vpcmirror([
      'call',
      'ListTrafficMirrorFilters',
      '--RegionId',
      'cn-hangzhou',
      '--TrafficMirrorFilterName',
      'never-made',
      '--endpoint',
      server.endpoint,
      ...keyFlags,
    ]);
    assert.equal(listed.code, 0, listed.err);
    assert.equal((JSON.parse(listed.out) as { TotalCount: unknown }).TotalCount, '0', 'nothing was created');
  });
});
