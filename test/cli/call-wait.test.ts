/**
 * `vpcmirror call … --wait` as a user runs it: the real CLI process against a server whose
 * transitions take 300 ms. Create waits until the session is Created, Delete until it is gone;
 * both exit 0. Real time passes here (bounded by the transition delay and the poll interval).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { addRamUser, getSession, REGION } from '../api/session-fixtures.js';
import { callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(
  server: TestServer,
  args: readonly string[],
  creds: { accessKeyId: string; accessKeySecret: string } = server,
  /** Told what the command has written to stdout, or to stderr, so far, each time it writes. */
  watch: {
    readonly stdout?: (stdout: string) => void;
    readonly stderr?: (stderr: string, child: ChildProcess) => void;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        'bin/vpcmirror.js',
        'call',
        ...args,
        '--endpoint',
        server.endpoint,
        '--access-key-id',
        creds.accessKeyId,
        '--access-key-secret',
        creds.accessKeySecret,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      watch.stdout?.(stdout);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      watch.stderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vpcmirror call did not finish within 60s: ${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const storeKind of testStores()) {
  describe(`vpcmirror call --wait [${storeKind}]`, () => {
    let server: TestServer;
    let filter: string;
    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: '300ms' } });
      const f = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: REGION });
      filter = String(f.TrafficMirrorFilterId);
      await server.advance({ resourceId: filter });
    });
    after(() => server.close());

    test('call CreateTrafficMirrorSession --wait exits 0 once the session is Created, then DeleteTrafficMirrorSession --wait exits 0 once it is gone', async () => {
      const created = await cli(server, [
        'CreateTrafficMirrorSession',
        '--RegionId',
        REGION,
        '--TrafficMirrorSourceIds.1',
        'eni-cli1',
        '--TrafficMirrorTargetId',
        'eni-clitarget',
        '--TrafficMirrorTargetType',
        'NetworkInterface',
        '--TrafficMirrorFilterId',
        filter,
        '--Priority',
        '7',
        '--wait',
        '--interval',
        '0.1',
        '--timeout',
        '30',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const body = JSON.parse(created.stdout) as Record<string, unknown>;
      const id = String(body.TrafficMirrorSessionId);
      assert.match(id, /^tms-/);
      assert.match(created.stderr, new RegExp(`${id}: Created`));
      assert.equal((await getSession(server, id))?.TrafficMirrorSessionStatus, 'Created');

      const deleted = await cli(server, [
        'DeleteTrafficMirrorSession',
        '--RegionId',
        REGION,
        '--TrafficMirrorSessionId',
        id,
        '--wait',
        '--interval',
        '0.1',
        '--timeout',
        '30',
      ]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(Object.keys(JSON.parse(deleted.stdout) as object), ['RequestId']);
      assert.match(deleted.stderr, new RegExp(`${id}: gone`));
      assert.equal(await getSession(server, id), undefined);
    });

    test('--wait that cannot see the outcome exits 3 with one line: a timeout, or a caller not allowed to list', async () => {
      const createFilter = (extra: string[], creds?: { accessKeyId: string; accessKeySecret: string }) =>
        cli(server, ['CreateTrafficMirrorFilter', '--RegionId', REGION, '--wait', ...extra], creds);
      const slow = await fetch(`http://${server.endpoint}/_vpcmirror/transitions/timing`, {
        method: 'POST',
        body: JSON.stringify({ 'filter.create': 'manual' }),
      });
      assert.equal(slow.status, 200);
      try {
        const timedOut = await createFilter(['--timeout', '0.3', '--interval', '0.1']);
        assert.equal(timedOut.code, 3, `timeout: ${timedOut.stderr}`);
        assert.match(JSON.parse(timedOut.stdout).TrafficMirrorFilterId, /^tmf-/);
        assert.match(timedOut.stderr, /timed out after 0.3s waiting for tmf-\S+ to be Created/);
      } finally {
        await fetch(`http://${server.endpoint}/_vpcmirror/transitions/timing`, {
          method: 'POST',
          body: JSON.stringify({ 'filter.create': '300ms' }),
        });
      }
      // May create filters, not list them: --wait cannot see the outcome.
      const key = await addRamUser(server, [
        { Effect: 'Allow', Action: 'vpc:CreateTrafficMirrorFilter', Resource: '*' },
      ]);
      const blind = await createFilter(['--interval', '0.1'], key);
      assert.equal(blind.code, 3, `blind: ${blind.stderr}`);
      assert.match(JSON.parse(blind.stdout).TrafficMirrorFilterId, /^tmf-/);
      assert.match(
        blind.stderr,
        /--wait cannot follow tmf-\S+: ListTrafficMirrorFilters answered HTTP 403 Forbidden\.RAM/,
      );
      assert.match(blind.stderr, /the caller needs vpc:ListTrafficMirrorFilters/);
      assert.doesNotMatch(blind.stderr, /\bat .*\(/, 'no stack trace');
    });

    test('UpdateTrafficMirrorFilterRuleAttribute --wait follows the filter that lists the rule until it is Created; a synchronous update says there is nothing to wait for', async () => {
      const made = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', {
        RegionId: REGION,
        IngressRules: [
          {
            Action: 'accept',
            Priority: 1,
            Protocol: 'TCP',
            SourceCidrBlock: '10.0.0.0/8',
            DestinationCidrBlock: '10.0.0.0/8',
            SourcePortRange: '80/80',
            DestinationPortRange: '80/80',
          },
        ],
      });
      const filterId = String(made.TrafficMirrorFilterId);
      await server.advance({ resourceId: filterId });
      const listed = await callVia('vpc-v3', server, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [filterId],
      });
      const filters = listed.TrafficMirrorFilters as Array<{ IngressRules: Array<Record<string, unknown>> }>;
      const ruleId = String(filters[0]?.IngressRules[0]?.TrafficMirrorFilterRuleId);
      await server.advance();
      const r = await cli(server, [
        'UpdateTrafficMirrorFilterRuleAttribute',
        '--RegionId',
        REGION,
        '--TrafficMirrorFilterRuleId',
        ruleId,
        '--Priority',
        '7',
        '--wait',
        '--interval',
        '0.05',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`${filterId}: rules Modifying`));
      assert.match(r.stderr, new RegExp(`${filterId}: Created`));
      const after = await callVia('vpc-v3', server, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [filterId],
      });
      const rule = (after.TrafficMirrorFilters as Array<{ IngressRules: Array<Record<string, unknown>> }>)[0]
        ?.IngressRules[0];
      assert.deepEqual([rule?.Priority, rule?.TrafficMirrorFilterRuleStatus], [7, 'Created']);

      const renamed = await cli(server, [
        'UpdateTrafficMirrorFilterAttribute',
        '--RegionId',
        REGION,
        '--TrafficMirrorFilterId',
        filterId,
        '--TrafficMirrorFilterName',
        'renamed',
        '--wait',
      ]);
      assert.equal(renamed.code, 0, renamed.stderr);
      assert.match(
        renamed.stderr,
        /--wait: UpdateTrafficMirrorFilterAttribute completes synchronously; nothing to wait for/,
      );
    });

    test('--wait whose server goes away after the call succeeded exits 3 with one line, not 1', async () => {
      const gone = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      let closing: Promise<void> | undefined;
      try {
        const r = await cli(
          gone,
          ['CreateTrafficMirrorFilter', '--RegionId', REGION, '--wait', '--interval', '0.05'],
          gone,
          // The call has been answered: the server goes away while --wait follows it.
          {
            stdout: (stdout) => {
              if (!closing && /"TrafficMirrorFilterId"/.test(stdout)) closing = gone.close();
            },
          },
        );
        assert.equal(r.code, 3, r.stderr);
        assert.match(
          r.stderr,
          /--wait cannot follow tmf-\S+: ListTrafficMirrorFilters got no answer \((socket hang up|.*ECONNREFUSED.*|read ECONNRESET)\)\n$/,
        );
        assert.doesNotMatch(r.stderr, /nothing is listening there/);
      } finally {
        await (closing ?? gone.close());
      }
    });

    /**
     * `call CreateTrafficMirrorFilter --wait` on a server whose transitions wait for an advance, with
     * `whenWaiting` run once, as soon as the wait has reported the filter Creating.
     */
    function waitOnNewFilter(
      on: TestServer,
      whenWaiting: (child: ChildProcess) => void,
      extra: readonly string[] = [],
    ): Promise<CliResult> {
      let waiting = false;
      return cli(
        on,
        ['CreateTrafficMirrorFilter', '--RegionId', REGION, '--wait', '--interval', '0.05', ...extra],
        on,
        {
          stderr: (stderr, child) => {
            if (waiting || !/: Creating \(/.test(stderr)) return;
            waiting = true;
            whenWaiting(child);
          },
        },
      );
    }

    test('--wait for Created stops at once, exit 3, when the resource is deleted meanwhile, instead of waiting out --timeout', async () => {
      const reset = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      try {
        let resetting: Promise<Response> | undefined;
        // Once the wait has seen the filter Creating, everything is reset under it.
        const r = await waitOnNewFilter(reset, () => {
          resetting = fetch(`http://${reset.endpoint}/_vpcmirror/reset`, { method: 'POST' });
        }, ['--timeout', '600']);
        assert.equal(r.code, 3, r.stderr);
        assert.match(
          r.stderr,
          /tmf-\S+ no longer exists: it was deleted while waiting for it to be Created\n$/,
        );
        assert.equal((await resetting)?.status, 200);
      } finally {
        await reset.close();
      }
    });

    test('Ctrl-C during --wait ends the wait with 130, saying the change goes on in the server', async () => {
      const manual = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      try {
        const r = await waitOnNewFilter(manual, (child) => child.kill('SIGINT'));
        assert.equal(r.code, 130, r.stderr);
        assert.match(
          r.stderr,
          /vpcmirror: stopped waiting; tmf-\S+ goes on changing in the server \(ListTrafficMirrorFilters shows it\)\n$/,
        );
      } finally {
        await manual.close();
      }
    });

    test('call DeleteTrafficMirrorSession --wait of an unknown session prints the error and exits 1 without waiting', async () => {
      const r = await cli(server, [
        'DeleteTrafficMirrorSession',
        '--RegionId',
        REGION,
        '--TrafficMirrorSessionId',
        'tms-doesnotexist0000000',
        '--wait',
      ]);
      assert.equal(r.code, 1);
      assert.equal(
        (JSON.parse(r.stdout) as Record<string, unknown>).Code,
        'ResourceNotFound.TrafficMirrorSession',
      );
      assert.match(r.stderr, /HTTP 400 ResourceNotFound\.TrafficMirrorSession/);
    });
  });
}
