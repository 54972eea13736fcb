/**
 * The management commands as a person or a script runs them: `node bin/vpcmirror.js account|user|
 * key|sts|policy|setup …` against a data directory (SQLite) or a PostgreSQL database, checking
 * exit codes and output. Then `serve` itself: its start-up says whether RAM is enforced, it
 * loads a set-up file, and commands run against its store apply to it while it runs.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { stringify } from 'yaml';
import { callVia, expectCode } from '../helpers/clients.js';
import { pgUrl, testStores } from '../helpers/server.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vpcmirror.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion; `input` goes to stdin. */
function run(args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, VPCMIRROR_ACCESS_KEY_ID: '', VPCMIRROR_ACCESS_KEY_SECRET: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

function ok(r: Run): Run {
  assert.equal(r.code, 0, `expected exit 0, got ${r.code}: ${r.stderr}`);
  return r;
}

function json<T = Record<string, unknown>>(r: Run): T {
  return JSON.parse(ok(r).stdout) as T;
}

interface Served {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly banner: string;
  stdout(): string;
  stop(): Promise<number | null>;
}

/** Starts `serve` on a free port and waits for its banner. */
function serve(args: readonly string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      env: { ...process.env, VPCMIRROR_ACCESS_KEY_ID: '', VPCMIRROR_ACCESS_KEY_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      if (!settled) reject(new Error(`serve did not start: ${stderr}`));
    }, 30_000);
    // The banner (stderr) and the log line (stdout) come through two pipes in either order: the
    // server counts as started once both are here.
    const check = (): void => {
      const m = /listening on http:\/\/([^\s]+)/.exec(stderr);
      if (
        settled ||
        !m?.[1] ||
        !stderr.includes('RAM enforcement:') ||
        !stdout.includes('vpcmirror listening')
      )
        return;
      settled = true;
      clearTimeout(timer);
      const endpoint = m[1];
      resolve({
        child,
        endpoint,
        banner: stderr,
        stdout: () => stdout,
        async stop() {
          // serve installs its SIGTERM handler just after printing the banner; one answered
          // request proves that moment has passed, so the signal meets the handler.
          await fetch(`http://${endpoint}/_vpcmirror/health`).catch(() => undefined);
          child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      check();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      check();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(Object.assign(new Error(`serve exited ${code}: ${stderr}`), { code, stderr }));
      }
    });
  });
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

const VALID_POLICY = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: 'vpc:List*', Resource: '*' }],
});

// Every command is a fresh Node process (about 2 s each on the test machine), so the full set
// runs once on SQLite and a short run on PostgreSQL shows the same commands on that store.
describe('vpcmirror management commands [sqlite]', () => {
  let dir: string;
  let where: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vpcmirror-cli-'));
    where = ['--data-dir', join(dir, 'data')];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let accountId: string;
  let aliceKey: { AccessKeyId: string; AccessKeySecret: string };
  /** `sts create` for the account's `ci` role, with the flags given. */
  const stsCreate = (...flags: string[]) => [
    'sts',
    'create',
    '--account',
    accountId,
    '--role',
    'ci',
    ...flags,
  ];

  test('a list command on a data directory with no store exits 2 naming it, and creates nothing', async () => {
    const missing = join(dir, 'no-such-dir');
    for (const cmd of [
      ['account', 'list'],
      ['user', 'list'],
      ['key', 'list'],
      ['policy', 'list'],
    ]) {
      const r = await run([...cmd, '--data-dir', missing]);
      assert.equal(r.code, 2, `${cmd.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /no store at .*no-such-dir/);
    }
    assert.equal(existsSync(missing), false);
  });

  test('a command that needs an account, on a data directory with no store, exits 2 naming it and creates nothing', async () => {
    const missing = join(dir, 'mistyped-dir');
    for (const cmd of [
      ['user', 'create', '--account', '1000000000000001', '--name', 'x'],
      ['key', 'create', '--account', '1000000000000001'],
      ['key', 'disable', '--id', 'LTAIwhatever00001'],
      [
        'policy',
        'attach',
        '--account',
        '1000000000000001',
        '--user',
        'x',
        '--policy',
        'AliyunVPCReadOnlyAccess',
      ],
      ['sts', 'create', '--account', '1000000000000001', '--role', 'ci'],
    ]) {
      const r = await run([...cmd, '--data-dir', missing]);
      assert.equal(r.code, 2, `${cmd.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /no store at .*mistyped-dir/, cmd.join(' '));
    }
    assert.equal(existsSync(missing), false);
  });

  test('a --data-dir that is a file, or a --database that is not an SQLite file, exits 2 in one line and leaves that file as it was', async () => {
    const document = join(dir, 'notes.txt');
    writeFileSync(
      document,
      'not a database, and long enough for SQLite to read a header from it '.repeat(20),
      {
        mode: 0o644,
      },
    );
    chmodSync(document, 0o644);
    for (const args of [
      ['account', 'create', '--data-dir', document],
      ['account', 'create', '--database', document],
      ['account', 'list', '--database', document],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^vpcmirror: cannot open \S+ as an SQLite store: /, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.equal(statSync(document).mode & 0o777, 0o644, 'its mode is untouched');
  });

  test('account create prints a 16-digit id, a default resource group and one root AccessKey', async () => {
    const r = ok(await run(['account', 'create', '--name', 'team-a', ...where]));
    assert.match(r.stdout, /Created account \d{16} \(team-a\)/);
    assert.match(r.stdout, /default resource group: rg-[a-z0-9]+/);
    assert.match(r.stdout, /root AccessKey id: +LTAI[A-Za-z0-9]{20}/);
    assert.match(r.stdout, /root AccessKey secret: +[A-Za-z0-9]{30}/);
    assert.equal(r.stderr, '');
  });

  test('account create --json gives the same fields to scripts', async () => {
    const created = json(await run(['account', 'create', '--name', 'team-b', '--json', ...where]));
    assert.match(String(created.AccountId), /^[1-9]\d{15}$/);
    assert.match(String(created.DefaultResourceGroupId), /^rg-/);
    assert.match(String(created.AccessKeyId), /^LTAI/);
    assert.equal(typeof created.AccessKeySecret, 'string');
    accountId = String(created.AccountId);
  });

  test('account create with a name already taken exits 2 and says so', async () => {
    const r = await run(['account', 'create', '--name', 'team-b', ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /an account named "team-b" exists already/);
  });

  test('account list shows both accounts and no secrets', async () => {
    const list = json<Array<Record<string, unknown>>>(await run(['account', 'list', '--json', ...where]));
    assert.deepEqual(list.map((a) => a.Name).sort(), ['team-a', 'team-b']);
    const human = ok(await run(['account', 'list', ...where]));
    assert.match(human.stdout, /ACCOUNT +NAME +RESOURCE GROUP/);
    assert.match(human.stdout, new RegExp(`${accountId} +team-b`));
  });

  test('user create makes a RAM user; for an unknown account it exits 2 naming the account', async () => {
    const user = json(
      await run(['user', 'create', '--account', accountId, '--name', 'alice', '--json', ...where]),
    );
    assert.equal(user.UserName, 'alice');
    assert.equal(user.AccountId, accountId);
    const r = await run(['user', 'create', '--account', '9999999999999999', '--name', 'alice', ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /there is no account 9999999999999999/);
  });

  test('user create with a bad name exits 2 and says what a name may contain', async () => {
    const r = await run(['user', 'create', '--account', accountId, '--name', 'al ice', ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /user name "al ice" must be 1-64 characters: letters, digits/);
  });

  test('a missing required flag exits 2 with the usage', async () => {
    const r = await run(['user', 'create', '--name', 'x', ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--account is required/);
  });

  test('key create for a user prints the secret once; key list never shows it', async () => {
    aliceKey = json(
      await run(['key', 'create', '--account', accountId, '--user', 'alice', '--json', ...where]),
    );
    assert.match(aliceKey.AccessKeyId, /^LTAI/);
    const listed = ok(await run(['key', 'list', '--account', accountId, '--json', ...where]));
    assert.ok(listed.stdout.includes(aliceKey.AccessKeyId));
    assert.ok(!listed.stdout.includes(aliceKey.AccessKeySecret));
    const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(rows.map((k) => k.Principal).sort(), ['root', 'user:alice']);
    const human = ok(await run(['key', 'list', '--user', 'alice', ...where]));
    assert.match(
      human.stdout,
      new RegExp(`${aliceKey.AccessKeyId} +${accountId} +user:alice +Permanent +Active`),
    );
    assert.ok(!human.stdout.includes(aliceKey.AccessKeySecret));
  });

  test('key disable and key enable switch the status; an unknown key exits 2', async () => {
    const off = ok(await run(['key', 'disable', '--id', aliceKey.AccessKeyId, ...where]));
    assert.equal(off.stdout, `AccessKey ${aliceKey.AccessKeyId} is Inactive\n`);
    const rows = json<Array<Record<string, unknown>>>(
      await run(['key', 'list', '--user', 'alice', '--json', ...where]),
    );
    assert.equal(rows[0]?.Status, 'Inactive');
    const on = json(await run(['key', 'enable', '--id', aliceKey.AccessKeyId, '--json', ...where]));
    assert.deepEqual(on, { AccessKeyId: aliceKey.AccessKeyId, Status: 'Active' });
    const r = await run(['key', 'disable', '--id', 'LTAInosuchkey', ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /there is no AccessKey "LTAInosuchkey"/);
    // A long value is repeated cut short, whichever command refuses it.
    for (const args of [
      ['key', 'disable', '--id', `LTAI${'k'.repeat(296)}`],
      ['user', 'list', '--account', '9'.repeat(300)],
      ['policy', 'attach', '--account', accountId, '--user', 'alice', '--policy', `p${'q'.repeat(299)}`],
    ]) {
      const long = await run([...args, ...where]);
      assert.equal(long.code, 2, long.stderr);
      assert.match(long.stderr, /…" \(300 characters\)/);
      assert.ok(long.stderr.length < 400, long.stderr);
    }
  });

  test('sts create issues STS. credentials with a vmst. token and an expiry', async () => {
    const start = Date.now();
    const c = json(await run([...stsCreate('--duration', '900'), '--json', ...where]));
    assert.match(String(c.AccessKeyId), /^STS\.[A-Za-z0-9]+$/);
    assert.match(String(c.SecurityToken), /^vmst\./);
    assert.equal(typeof c.AccessKeySecret, 'string');
    assert.match(String(c.Expiration), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const expires = Date.parse(String(c.Expiration));
    assert.ok(expires >= start + 899_000 && expires <= Date.now() + 901_000);
    const human = ok(await run(['sts', 'create', '--account', accountId, '--role', 'ci', ...where]));
    assert.match(human.stdout, /Temporary credentials for role ci/);
    assert.match(human.stdout, /SecurityToken: +vmst\./);
  });

  test('sts create with a duration out of range exits 2', async () => {
    const r = await run([...stsCreate('--duration', '0'), ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /duration 0 must be a whole number of seconds from 1 to 43200/);
    for (const odd of ['0x10', '1e3', ' 60', '60.0']) {
      const w = await run([...stsCreate('--duration', odd), ...where]);
      assert.equal(w.code, 2, odd);
      assert.match(w.stderr, /--duration must be a number of seconds/, odd);
    }
    const both = await run(['key', 'list', '--account', accountId, '--user', 'a', '--role', 'b', ...where]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /key list takes --user or --role, not both/);
  });

  test('sts create with a malformed session policy exits 2 naming the file and the problem', async () => {
    const path = join(dir, 'session.json');
    writeFileSync(path, JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Resource: '*' }] }));
    const r = await run([...stsCreate('--policy', path), ...where]);
    assert.equal(r.code, 2);
    assert.ok(
      r.stderr.includes(
        `${path}: invalid policy document: Statement[0] must contain exactly one of Action or NotAction`,
      ),
      r.stderr,
    );
  });

  test('policy create from a file and from stdin stores a custom policy', async () => {
    const path = join(dir, 'list.json');
    writeFileSync(path, VALID_POLICY);
    const r = ok(
      await run([
        'policy',
        'create',
        '--account',
        accountId,
        '--name',
        'list-only',
        '--document',
        path,
        ...where,
      ]),
    );
    assert.equal(r.stdout, `Created custom policy list-only in account ${accountId}\n`);
    const fromStdin = json(
      await run(
        [
          'policy',
          'create',
          '--account',
          accountId,
          '--name',
          'from-stdin',
          '--document',
          '-',
          '--json',
          ...where,
        ],
        VALID_POLICY,
      ),
    );
    assert.equal(fromStdin.PolicyName, 'from-stdin');
  });

  test('policy create refuses a malformed document with exit 2 and a message saying what is wrong', async () => {
    const cases: Array<[document: string, problem: string]> = [
      [
        JSON.stringify({ Version: '1', Statement: [{ Effect: 'Permit', Action: 'vpc:*', Resource: '*' }] }),
        'Statement[0].Effect must be "Allow" or "Deny"',
      ],
      [JSON.stringify({ Version: '2', Statement: [] }), 'Version must be "1", got "2"'],
      ['{"Version": "1", ', 'Policy document is not valid JSON'],
      [
        JSON.stringify({
          Version: '1',
          Statement: [{ Effect: 'Allow', Action: 'vpc:*', Resource: '*', Condition: { IpAddres: {} } }],
        }),
        'Statement[0].Condition.IpAddres is not a supported condition operator',
      ],
      [
        JSON.stringify({
          Version: '1',
          Statement: [{ Effect: 'Allow', Action: 'vpc:*', Resource: `acs:vpc:*:*:${'x'.repeat(6_144)}` }],
        }),
        '6,235 characters, more than the 6,144 a policy may have',
      ],
    ];
    for (const [document, problem] of cases) {
      const r = await run(
        ['policy', 'create', '--account', accountId, '--name', 'broken', '--document', '-', ...where],
        document,
      );
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`stdin: invalid policy document: ${problem}`), r.stderr);
      assert.equal(r.stdout, '');
    }
    const policies = json<Array<Record<string, unknown>>>(await run(['policy', 'list', '--json', ...where]));
    assert.ok(!policies.some((p) => p.PolicyName === 'broken'), 'nothing was stored');
  });

  test('policy create for a missing file exits 2 naming the file', async () => {
    const r = await run([
      'policy',
      'create',
      '--account',
      accountId,
      '--name',
      'x',
      '--document',
      join(dir, 'nope.json'),
      ...where,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read the policy document from .*nope\.json/);
  });

  test('policy attach and detach work for users and roles, System and Custom', async () => {
    const sys = ok(
      await run([
        'policy',
        'attach',
        '--account',
        accountId,
        '--user',
        'alice',
        '--policy',
        'AliyunVPCReadOnlyAccess',
        ...where,
      ]),
    );
    assert.equal(
      sys.stdout,
      `Attached System policy AliyunVPCReadOnlyAccess to RAM user alice of account ${accountId}\n`,
    );
    const again = ok(
      await run([
        'policy',
        'attach',
        '--account',
        accountId,
        '--user',
        'alice',
        '--policy',
        'AliyunVPCReadOnlyAccess',
        ...where,
      ]),
    );
    assert.match(again.stdout, /was attached to RAM user alice already/);
    const custom = json(
      await run([
        'policy',
        'attach',
        '--account',
        accountId,
        '--role',
        'ci',
        '--policy',
        'list-only',
        '--type',
        'Custom',
        '--json',
        ...where,
      ]),
    );
    assert.deepEqual(custom, {
      AccountId: accountId,
      PrincipalType: 'Role',
      PrincipalName: 'ci',
      PolicyName: 'list-only',
      PolicyType: 'Custom',
      Changed: true,
    });
    const listed = json<Array<Record<string, unknown>>>(
      await run(['policy', 'list', '--account', accountId, '--json', ...where]),
    );
    const byName = new Map(listed.map((p) => [p.PolicyName, p]));
    assert.deepEqual(byName.get('list-only')?.AttachedTo, ['role:ci']);
    assert.deepEqual(byName.get('AliyunVPCReadOnlyAccess')?.AttachedTo, ['user:alice']);
    assert.deepEqual(byName.get('AliyunVPCFullAccess')?.AttachedTo, []);
    const users = json<Array<Record<string, unknown>>>(
      await run(['user', 'list', '--account', accountId, '--json', ...where]),
    );
    assert.deepEqual(users[0]?.Policies, ['AliyunVPCReadOnlyAccess']);
    ok(
      await run([
        'policy',
        'detach',
        '--account',
        accountId,
        '--role',
        'ci',
        '--policy',
        'list-only',
        ...where,
      ]),
    );
    const twice = await run([
      'policy',
      'detach',
      '--account',
      accountId,
      '--role',
      'ci',
      '--policy',
      'list-only',
      ...where,
    ]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /Custom policy "list-only" is not attached to role "ci"/);
  });

  test('group create, add-user, remove-user and list; policies attach to a group; user list and policy list show the groups', async () => {
    const acct = ['--account', accountId];
    assert.equal(
      ok(
        await run(['group', 'create', ...acct, '--name', 'ops', '--comments', 'on call', ...where]),
      ).stdout.split('\n')[0],
      `Created RAM user group ops in account ${accountId}`,
    );
    const dup = await run(['group', 'create', ...acct, '--name', 'ops', ...where]);
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /already has a RAM user group "ops"/);
    const member = ['--group', 'ops', '--user', 'alice'];
    assert.match(
      ok(await run(['group', 'add-user', ...acct, ...member, ...where])).stdout,
      /^Added RAM user alice to group ops/,
    );
    assert.match(
      ok(await run(['group', 'add-user', ...acct, ...member, ...where])).stdout,
      /was a member of group ops already/,
    );
    for (const [args, problem] of [
      [['--group', 'nope', '--user', 'alice'], /has no RAM user group "nope"/],
      [['--group', 'ops', '--user', 'nobody'], /has no RAM user "nobody"/],
    ] as const) {
      const r = await run(['group', 'add-user', ...acct, ...args, ...where]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, problem);
    }
    assert.equal(
      ok(
        await run([
          'policy',
          'attach',
          ...acct,
          '--group',
          'ops',
          '--policy',
          'AliyunVPCReadOnlyAccess',
          ...where,
        ]),
      ).stdout,
      `Attached System policy AliyunVPCReadOnlyAccess to RAM user group ops of account ${accountId}\n`,
    );
    const groups = json<Array<Record<string, unknown>>>(
      await run(['group', 'list', ...acct, '--json', ...where]),
    );
    assert.deepEqual(
      groups.map(({ GroupName, Comments, Users, Policies }) => ({ GroupName, Comments, Users, Policies })),
      [{ GroupName: 'ops', Comments: 'on call', Users: ['alice'], Policies: ['AliyunVPCReadOnlyAccess'] }],
    );
    const users = json<Array<Record<string, unknown>>>(
      await run(['user', 'list', ...acct, '--json', ...where]),
    );
    assert.deepEqual(users.find((u) => u.UserName === 'alice')?.Groups, ['ops']);
    const policies = json<Array<Record<string, unknown>>>(
      await run(['policy', 'list', ...acct, '--json', ...where]),
    );
    const readOnly = policies.find((p) => p.PolicyName === 'AliyunVPCReadOnlyAccess');
    assert.ok(
      (readOnly?.AttachedTo as string[] | undefined)?.includes('group:ops'),
      JSON.stringify(readOnly),
    );
    ok(await run(['group', 'remove-user', ...acct, ...member, ...where]));
    const notMember = await run(['group', 'remove-user', ...acct, ...member, ...where]);
    assert.equal(notMember.code, 2);
    assert.match(notMember.stderr, /RAM user "alice" is not a member of group "ops"/);
  });

  test('policy attach refuses an unknown policy, an unknown user and an ambiguous principal with exit 2', async () => {
    const unknown = await run([
      'policy',
      'attach',
      '--account',
      accountId,
      '--user',
      'alice',
      '--policy',
      'nope',
      ...where,
    ]);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /has no policy "nope" \(custom: .*list-only.*; system: AliyunVPCFullAccess, AliyunVPCReadOnlyAccess\)/,
    );
    const noUser = await run([
      'policy',
      'attach',
      '--account',
      accountId,
      '--user',
      'bob',
      '--policy',
      'list-only',
      ...where,
    ]);
    assert.equal(noUser.code, 2);
    assert.match(noUser.stderr, /has no RAM user "bob"/);
    const both = await run([
      'policy',
      'attach',
      '--account',
      accountId,
      '--user',
      'alice',
      '--role',
      'ci',
      '--policy',
      'list-only',
      ...where,
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give exactly one of --user, --group or --role/);
  });

  test('setup check accepts a good file and refuses a bad one with the path of the bad element', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, stringify({ accounts: [{ name: 'x', users: [{ name: 'u' }] }] }));
    const r = ok(await run(['setup', 'check', good]));
    assert.match(r.stdout, /is valid: accounts 1, users 1, groups 0, custom policies 0, roles 0/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      stringify({
        accounts: [{ name: 'x', users: [{ name: 'u', accessKeys: [{ accessKeyId: 'LTAIx' }] }] }],
      }),
    );
    const r2 = await run(['setup', 'check', bad]);
    assert.equal(r2.code, 2);
    assert.match(
      r2.stderr,
      /accounts\[0\]\.users\[0\]\.accessKeys\[0\] gives accessKeyId without accessKeySecret/,
    );
  });

  test('an unknown subcommand exits 2 with the usage', async () => {
    const r = await run(['key', 'rotate', ...where]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /usage: vpcmirror key create\|disable\|enable\|list/);
  });

  test('the data directory is 0700 and the SQLite files 0600', () => {
    const data = join(dir, 'data');
    assert.equal(mode(data), '700');
    for (const name of ['vpcmirror.sqlite', 'vpcmirror.sqlite-wal', 'vpcmirror.sqlite-shm']) {
      const path = join(data, name);
      if (existsSync(path)) assert.equal(mode(path), '600', name);
    }
    assert.equal(mode(join(data, 'vpcmirror.sqlite')), '600');
  });

  describe('with a running server', () => {
    let server: Served;
    before(async () => {
      server = await serve([...where, '--transitions', 'manual']);
    });
    after(async () => {
      assert.equal(await server.stop(), 0);
    });

    test('the banner and the log line say RAM enforcement is on', () => {
      assert.match(server.banner, /RAM enforcement: +on\n/);
      const line = server
        .stdout()
        .split('\n')
        .filter((l) => l.includes('vpcmirror listening'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
      assert.equal(line?.ram, 'enforced');
    });

    test('a key made and disabled by the CLI applies to the running server at the next request', async () => {
      const creds = {
        endpoint: server.endpoint,
        accessKeyId: aliceKey.AccessKeyId,
        accessKeySecret: aliceKey.AccessKeySecret,
      };
      await callVia('pop-get', creds, 'ListTrafficMirrorFilters', { RegionId: 'cn-hangzhou' });
      await expectCode(
        () =>
          callVia('pop-get', creds, 'DeleteTrafficMirrorFilter', {
            RegionId: 'cn-hangzhou',
            TrafficMirrorFilterId: 'tmf-x',
          }),
        'Forbidden.RAM',
      );
      ok(await run(['key', 'disable', '--id', aliceKey.AccessKeyId, ...where]));
      await expectCode(() => callVia('vpc-v3', creds, 'DescribeRegions', {}), 'InvalidAccessKeyId.Inactive');
      ok(await run(['key', 'enable', '--id', aliceKey.AccessKeyId, ...where]));
      await callVia('vpc-v3', creds, 'DescribeRegions', {});
    });

    test('temporary credentials from sts create are accepted with their token', async () => {
      ok(
        await run([
          'policy',
          'attach',
          '--account',
          accountId,
          '--role',
          'reader',
          '--policy',
          'AliyunVPCReadOnlyAccess',
          ...where,
        ]),
      );
      const c = json(
        await run(['sts', 'create', '--account', accountId, '--role', 'reader', '--json', ...where]),
      );
      const creds = {
        endpoint: server.endpoint,
        accessKeyId: String(c.AccessKeyId),
        accessKeySecret: String(c.AccessKeySecret),
        securityToken: String(c.SecurityToken),
      };
      const body = await callVia('vpc-v3', creds, 'ListTrafficMirrorFilters', { RegionId: 'cn-hangzhou' });
      assert.ok(Array.isArray(body.TrafficMirrorFilters));
    });
  });

  test('after serve, credentials.json is 0600 as well', () => {
    assert.equal(mode(join(dir, 'data', 'credentials.json')), '600');
    assert.equal(mode(join(dir, 'data')), '700');
  });
});

if (testStores().includes('postgres')) {
  describe('vpcmirror management commands [postgres]', () => {
    let dir: string;
    let schema: string;
    let where: string[];

    async function sqlOnTestDb(text: string): Promise<void> {
      const client = new pg.Client({ connectionString: pgUrl() });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    }

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vpcmirror-cli-pg-'));
      schema = `t_${randomBytes(6).toString('hex')}`;
      await sqlOnTestDb(`create schema ${schema}`);
      const url = `${pgUrl()}${pgUrl().includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      where = ['--data-dir', join(dir, 'data'), '--database', url];
    });
    after(async () => {
      await sqlOnTestDb(`drop schema if exists ${schema} cascade`);
      rmSync(dir, { recursive: true, force: true });
    });

    test('account create with one name from eight commands at once makes one account; the others exit 2 saying it exists', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => run(['account', 'create', '--name', 'race', ...where])),
      );
      assert.deepEqual(
        results.map((r) => r.code).sort(),
        [0, 2, 2, 2, 2, 2, 2, 2],
        results.map((r) => r.stderr).join('\n'),
      );
      for (const r of results.filter((x) => x.code === 2))
        assert.match(r.stderr, /an account named "race" exists already/);
    });

    test('account, user, key, policy and attach commands work on PostgreSQL and apply to a server on it', async () => {
      const account = json(await run(['account', 'create', '--name', 'pg-team', '--json', ...where]));
      const accountId = String(account.AccountId);
      ok(await run(['user', 'create', '--account', accountId, '--name', 'alice', ...where]));
      const key = json(
        await run(['key', 'create', '--account', accountId, '--user', 'alice', '--json', ...where]),
      );
      const bad = await run(
        ['policy', 'create', '--account', accountId, '--name', 'p', '--document', '-', ...where],
        JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'vpc', Resource: '*' }] }),
      );
      assert.equal(bad.code, 2);
      assert.ok(bad.stderr.includes('Statement[0].Action must be "*" or "<service>:<action>"'), bad.stderr);
      ok(
        await run(
          ['policy', 'create', '--account', accountId, '--name', 'p', '--document', '-', ...where],
          VALID_POLICY,
        ),
      );
      ok(
        await run(['policy', 'attach', '--account', accountId, '--user', 'alice', '--policy', 'p', ...where]),
      );
      const server = await serve([...where, '--transitions', 'manual']);
      try {
        const creds = {
          endpoint: server.endpoint,
          accessKeyId: String(key.AccessKeyId),
          accessKeySecret: String(key.AccessKeySecret),
        };
        await callVia('vpc-v3', creds, 'ListTrafficMirrorFilters', { RegionId: 'cn-hangzhou' });
        await expectCode(() => callVia('vpc-v3', creds, 'DescribeRegions', {}), 'Forbidden.RAM');
        ok(await run(['key', 'disable', '--id', String(key.AccessKeyId), ...where]));
        await expectCode(
          () => callVia('vpc-v3', creds, 'ListTrafficMirrorFilters', { RegionId: 'cn-hangzhou' }),
          'InvalidAccessKeyId.Inactive',
        );
      } finally {
        assert.equal(await server.stop(), 0);
      }
      const keys = json<Array<Record<string, unknown>>>(
        await run(['key', 'list', '--account', accountId, '--json', ...where]),
      );
      assert.deepEqual(keys.map((k) => `${k.Principal}:${k.Status}`).sort(), [
        'root:Active',
        'user:alice:Inactive',
      ]);
    });
  });
}

describe('serve start-up', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vpcmirror-serve-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serve --no-ram says RAM enforcement is OFF in the banner and the log line', async () => {
    const server = await serve(['--data-dir', join(dir, 'no-ram'), '--no-ram']);
    try {
      assert.match(server.banner, /RAM enforcement: +OFF\n/);
      const line = server
        .stdout()
        .split('\n')
        .find((l) => l.includes('vpcmirror listening'));
      assert.equal((JSON.parse(line ?? '{}') as Record<string, unknown>).ram, 'off');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('serve --config loads a YAML set-up file whose keys then work, and again on restart', async () => {
    const config = join(dir, 'setup.yaml');
    writeFileSync(
      config,
      stringify({
        accounts: [
          {
            id: '1111222233334444',
            name: 'from-file',
            accessKeys: [{ accessKeyId: 'LTAIfromfileroot01', accessKeySecret: 'from-file-root-secret' }],
            users: [
              {
                name: 'reader',
                policies: ['AliyunVPCReadOnlyAccess'],
                accessKeys: [{ accessKeyId: 'LTAIfromfilereader', accessKeySecret: 'reader-secret' }],
              },
            ],
          },
        ],
      }),
    );
    const data = join(dir, 'with-config');
    for (let start = 0; start < 2; start++) {
      const server = await serve(['--data-dir', data, '--config', config]);
      try {
        const reader = {
          endpoint: server.endpoint,
          accessKeyId: 'LTAIfromfilereader',
          accessKeySecret: 'reader-secret',
        };
        await callVia('vpc-v3', reader, 'ListTrafficMirrorFilters', { RegionId: 'cn-hangzhou' });
        const err = await expectCode(
          () => callVia('vpc-v3', reader, 'CreateTrafficMirrorFilter', { RegionId: 'cn-hangzhou' }),
          'Forbidden.RAM',
        );
        assert.equal(
          (err.accessDeniedDetail as Record<string, unknown>).AuthPrincipalOwnerId,
          '1111222233334444',
        );
        const root = {
          endpoint: server.endpoint,
          accessKeyId: 'LTAIfromfileroot01',
          accessKeySecret: 'from-file-root-secret',
        };
        await callVia('vpc-v3', root, 'DescribeRegions', {});
      } finally {
        assert.equal(await server.stop(), 0);
      }
    }
  });

  test('serve --config with a bad file exits 2 naming the file and the bad element', async () => {
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ accounts: [{ id: '42' }] }));
    await assert.rejects(serve(['--data-dir', join(dir, 'bad'), '--config', config]), (e: unknown) => {
      const err = e as { code?: number; stderr?: string };
      assert.equal(err.code, 2);
      assert.ok(
        err.stderr?.includes(`set-up file ${config}: accounts[0].id "42" must be 16 digits`),
        err.stderr,
      );
      return true;
    });
  });
});
