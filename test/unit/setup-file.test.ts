/**
 * The set-up file (docs/ram.md): good files in JSON and YAML give the same store, applying a
 * file again changes nothing, generated credentials appear once, and every validation error
 * names the path of the element at fault. Applying runs on each store leg.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { stringify } from 'yaml';
import {
  applySetup,
  applySetupFile,
  loadSetupFile,
  SetupFileError,
  validateSetup,
} from '../../src/accounts/setup-file.js';
import { ConfigError } from '../../src/config.js';
import { openStore, type Store } from '../../src/store/store.js';
import { pgUrl, type StoreKind, testStores } from '../helpers/server.js';

const ACCOUNT_A = '1234567890123456';
const ACCOUNT_B = '2345678901234567';
const NOW = Date.UTC(2026, 0, 1);

const READ_ONE_FILTER = {
  Version: '1',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['vpc:List*', 'vpc:DeleteTrafficMirrorFilter'],
      Resource: `acs:vpc:*:${ACCOUNT_A}:trafficmirrorfilter/tmf-abc`,
    },
  ],
};

/** Everything the format offers, with fixed values wherever they are allowed. */
const TEAM_A = {
  id: ACCOUNT_A,
  name: 'team-a',
  resourceGroupId: 'rg-teamadefault',
  accessKeys: [{ accessKeyId: 'LTAIteamaroot0001', accessKeySecret: 'team-a-root-secret' }],
  policies: [{ name: 'one-filter', description: 'list, and delete tmf-abc', document: READ_ONE_FILTER }],
  users: [
    {
      name: 'alice',
      displayName: 'Alice',
      policies: ['AliyunVPCReadOnlyAccess', { name: 'one-filter', type: 'Custom' }],
      accessKeys: [{ accessKeyId: 'LTAIalice00000001', accessKeySecret: 'alice-secret', status: 'Active' }],
    },
    {
      name: 'bob',
      accessKeys: [{ accessKeyId: 'LTAIbob0000000001', accessKeySecret: 'bob-secret', status: 'Inactive' }],
    },
  ],
  roles: [
    {
      name: 'ci',
      policies: [{ name: 'AliyunVPCFullAccess', type: 'System' }],
      credentials: [
        {
          accessKeyId: 'STS.ci0000000000001',
          accessKeySecret: 'ci-secret',
          securityToken: 'vmst.ci-token-1',
          expiration: '2030-01-01T00:00:00Z',
          policy: { Version: '1', Statement: { Effect: 'Allow', Action: 'vpc:List*', Resource: '*' } },
        },
        {
          accessKeyId: 'STS.ci0000000000002',
          accessKeySecret: 'ci-secret-2',
          securityToken: 'vmst.ci-token-2',
          expiration: '2020-01-01T00:00:00Z',
        },
      ],
    },
  ],
};
const TEAM_B = {
  name: 'team-b',
  accessKeys: [{ accessKeyId: 'LTAIteambroot0001', accessKeySecret: 'team-b-secret' }],
};
const FULL = { accounts: [TEAM_A, TEAM_B] };

interface Snapshot {
  accounts: unknown[];
  users: unknown[];
  keys: unknown[];
  policies: unknown[];
  attachments: unknown[];
}

async function snapshot(store: Store): Promise<Snapshot> {
  const db = store.db;
  return {
    accounts: await db.selectFrom('accounts').selectAll().orderBy('id').execute(),
    users: await db.selectFrom('ram_users').selectAll().orderBy('account_id').orderBy('user_name').execute(),
    keys: await db.selectFrom('access_keys').selectAll().orderBy('access_key_id').execute(),
    policies: await db
      .selectFrom('policies')
      .selectAll()
      .orderBy('account_id')
      .orderBy('policy_name')
      .execute(),
    attachments: await db
      .selectFrom('policy_attachments')
      .selectAll()
      .orderBy('account_id')
      .orderBy('principal_type')
      .orderBy('principal_name')
      .orderBy('policy_name')
      .execute(),
  };
}

/** The snapshot without generated values (account B's id and resource group, user ids). */
function comparable(s: Snapshot): unknown {
  const accounts = (s.accounts as Array<Record<string, unknown>>).map((a) =>
    a.name === 'team-b' ? { ...a, id: '(generated)', default_resource_group_id: '(generated)' } : a,
  );
  const bId = (s.accounts as Array<Record<string, unknown>>).find((a) => a.name === 'team-b')?.id;
  return {
    ...s,
    accounts: accounts.sort((x, y) => String(x.name).localeCompare(String(y.name))),
    users: (s.users as Array<Record<string, unknown>>).map((u) => ({ ...u, user_id: '(generated)' })),
    keys: (s.keys as Array<Record<string, unknown>>).map((k) =>
      k.account_id === bId ? { ...k, account_id: '(team-b)' } : k,
    ),
  };
}

let tempDir: string;
function file(name: string, content: string): string {
  const path = join(tempDir, name);
  writeFileSync(path, content);
  return path;
}

/** Expects validation to fail with a problem mentioning every fragment. */
function rejects(value: unknown, ...fragments: string[]): SetupFileError {
  try {
    validateSetup(value, 'test.yaml');
  } catch (e) {
    assert.ok(e instanceof SetupFileError, `expected SetupFileError, got ${String(e)}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" should mention ${f}`);
    return e;
  }
  assert.fail(`expected the set-up to be refused (${fragments.join(', ')})`);
}

function account(extra: Record<string, unknown>): unknown {
  return { accounts: [{ id: ACCOUNT_A, ...extra }] };
}

before(() => {
  tempDir = mkdtempSync(join(tmpdir(), 'vpcmirror-setup-'));
});
after(() => rmSync(tempDir, { recursive: true, force: true }));

describe('set-up file validation', () => {
  test('the full example is valid in JSON and in YAML', () => {
    const fromJson = loadSetupFile(file('full.json', JSON.stringify(FULL)));
    const fromYaml = loadSetupFile(file('full.yaml', stringify(FULL)));
    assert.deepEqual(fromYaml, fromJson);
    assert.equal(fromJson.accounts.length, 2);
  });

  const cases: Array<[name: string, value: unknown, fragments: string[]]> = [
    ['a top level that is not an object', [], ['(top level) must be an object, got a list']],
    ['a missing accounts list', {}, ['accounts is required']],
    ['accounts that are not a list', { accounts: {} }, ['accounts must be a list, got an object']],
    ['an unknown top-level field', { accounts: [], users: [] }, ['(top level).users is not a known field']],
    ['an account without id or name', { accounts: [{}] }, ['accounts[0] needs an id or a name']],
    [
      'an account id that is not 16 digits',
      account({ id: '123' }),
      ['accounts[0].id "123" must be 16 digits'],
    ],
    [
      'an account id as an unsafe number',
      { accounts: [{ id: 2 ** 53 + 2 }] },
      ['accounts[0].id must be written as a string'],
    ],
    ['an unknown account field', account({ users: [], user: [] }), ['accounts[0].user is not a known field']],
    [
      'a bad resource group id',
      account({ resourceGroupId: 'group-1' }),
      ['accounts[0].resourceGroupId "group-1" must be "rg-"'],
    ],
    [
      'a duplicate account id',
      { accounts: [{ id: ACCOUNT_A }, { id: ACCOUNT_A }] },
      [`accounts[1].id repeats account id "${ACCOUNT_A}" of accounts[0].id`],
    ],
    [
      'a duplicate account name',
      { accounts: [{ name: 'x' }, { name: 'x' }] },
      ['accounts[1].name repeats account name "x"'],
    ],
    [
      'a key id without a secret',
      account({ accessKeys: [{ accessKeyId: 'LTAIabc' }] }),
      ['accounts[0].accessKeys[0] gives accessKeyId without accessKeySecret'],
    ],
    [
      'a secret without a key id',
      account({ accessKeys: [{ accessKeySecret: 'abcdefgh' }] }),
      ['accounts[0].accessKeys[0] gives accessKeySecret without accessKeyId'],
    ],
    [
      'a long-term key id with the STS prefix',
      account({ accessKeys: [{ accessKeyId: 'STS.abc', accessKeySecret: 'x' }] }),
      ['accounts[0].accessKeys[0].accessKeyId "STS.abc" must not start with "STS."'],
    ],
    [
      'a secret with a space',
      account({ accessKeys: [{ accessKeyId: 'LTAIabc', accessKeySecret: 'two words' }] }),
      ['accounts[0].accessKeys[0].accessKeySecret must be 1-256 printable ASCII characters'],
    ],
    [
      'a bad key status',
      account({ accessKeys: [{ accessKeyId: 'LTAIabc', accessKeySecret: 'x', status: 'Disabled' }] }),
      ['accounts[0].accessKeys[0].status "Disabled" must be "Active" or "Inactive"'],
    ],
    [
      'a duplicate AccessKey id across users',
      account({
        users: [
          { name: 'a', accessKeys: [{ accessKeyId: 'LTAIsame', accessKeySecret: 'x' }] },
          { name: 'b', accessKeys: [{ accessKeyId: 'LTAIsame', accessKeySecret: 'y' }] },
        ],
      }),
      ['accounts[0].users[1].accessKeys[0].accessKeyId repeats AccessKey id "LTAIsame"'],
    ],
    ['a user without a name', account({ users: [{}] }), ['accounts[0].users[0].name is required']],
    [
      'a bad user name',
      account({ users: [{ name: 'al ice' }] }),
      ['accounts[0].users[0].name "al ice" must be 1-64 characters'],
    ],
    [
      'a duplicate user name',
      account({ users: [{ name: 'alice' }, { name: 'alice' }] }),
      ['accounts[0].users[1].name repeats user name "alice"'],
    ],
    [
      'a policy reference without a name',
      account({ users: [{ name: 'alice', policies: [{ type: 'System' }] }] }),
      ['accounts[0].users[0].policies[0].name is required'],
    ],
    [
      'a bad policy type',
      account({ users: [{ name: 'alice', policies: [{ name: 'x', type: 'Managed' }] }] }),
      ['accounts[0].users[0].policies[0].type "Managed" must be "System" or "Custom"'],
    ],
    [
      'an unknown system policy',
      account({ roles: [{ name: 'r', policies: [{ name: 'AliyunECSFullAccess', type: 'System' }] }] }),
      ['accounts[0].roles[0].policies[0] names no system policy: "AliyunECSFullAccess"'],
    ],
    [
      'a policy without a document',
      account({ policies: [{ name: 'p' }] }),
      ['accounts[0].policies[0].document is required'],
    ],
    [
      'a malformed policy document',
      account({ policies: [{ name: 'p', document: { Version: '1', Statement: [{ Effect: 'Permit' }] } }] }),
      [
        'accounts[0].policies[0].document is invalid policy document: Statement[0].Effect must be "Allow" or "Deny"',
      ],
    ],
    [
      'a policy document given as broken JSON text',
      account({ policies: [{ name: 'p', document: '{"Version": "1",' }] }),
      ['accounts[0].policies[0].document is invalid policy document: Policy document is not valid JSON'],
    ],
    [
      'a custom policy named like a system policy',
      account({ policies: [{ name: 'AliyunVPCFullAccess', document: READ_ONE_FILTER }] }),
      ['accounts[0].policies[0].name "AliyunVPCFullAccess" is the name of a system policy'],
    ],
    [
      'a duplicate policy name',
      account({
        policies: [
          { name: 'p', document: READ_ONE_FILTER },
          { name: 'p', document: READ_ONE_FILTER },
        ],
      }),
      ['accounts[0].policies[1].name repeats policy name "p"'],
    ],
    [
      'a role without a name',
      account({ roles: [{ policies: [] }] }),
      ['accounts[0].roles[0].name is required'],
    ],
    [
      'a duplicate role name',
      account({ roles: [{ name: 'r' }, { name: 'r' }] }),
      ['accounts[0].roles[1].name repeats role name "r"'],
    ],
    [
      'partly fixed temporary credentials',
      account({ roles: [{ name: 'r', credentials: [{ accessKeyId: 'STS.x1' }] }] }),
      [
        'accounts[0].roles[0].credentials[0] must give accessKeyId, accessKeySecret and securityToken together',
      ],
    ],
    [
      'a temporary key id without the STS prefix',
      account({
        roles: [
          {
            name: 'r',
            credentials: [{ accessKeyId: 'LTAIx', accessKeySecret: 's', securityToken: 'vmst.t' }],
          },
        ],
      }),
      ['accounts[0].roles[0].credentials[0].accessKeyId "LTAIx" must start with "STS."'],
    ],
    [
      'a security token without the vmst. prefix',
      account({
        roles: [
          { name: 'r', credentials: [{ accessKeyId: 'STS.x', accessKeySecret: 's', securityToken: 'tok' }] },
        ],
      }),
      ['accounts[0].roles[0].credentials[0].securityToken must start with "vmst."'],
    ],
    [
      'an expiration that is not a date',
      account({ roles: [{ name: 'r', credentials: [{ expiration: 'tomorrow' }] }] }),
      ['accounts[0].roles[0].credentials[0].expiration "tomorrow" must be an ISO 8601 time'],
    ],
    [
      'both expiration and durationSeconds',
      account({
        roles: [{ name: 'r', credentials: [{ expiration: '2030-01-01T00:00:00Z', durationSeconds: 60 }] }],
      }),
      ['accounts[0].roles[0].credentials[0] gives both expiration and durationSeconds'],
    ],
    [
      'a duration out of range',
      account({ roles: [{ name: 'r', credentials: [{ durationSeconds: 50000 }] }] }),
      [
        'accounts[0].roles[0].credentials[0].durationSeconds must be a whole number of seconds from 1 to 43200',
      ],
    ],
    [
      'a malformed session policy',
      account({ roles: [{ name: 'r', credentials: [{ policy: { Version: '2', Statement: [] } }] }] }),
      ['accounts[0].roles[0].credentials[0].policy is invalid policy document: Version must be "1"'],
    ],
    [
      'an unknown credentials field',
      account({ roles: [{ name: 'r', credentials: [{ token: 'x' }] }] }),
      ['accounts[0].roles[0].credentials[0].token is not a known field'],
    ],
  ];
  for (const [name, value, fragments] of cases) {
    test(`refuses ${name}, naming the path`, () => {
      rejects(value, ...fragments);
    });
  }

  test('a policy has at most 6,144 characters and a session policy 2,048, counted in UTF-16 units as stored', () => {
    // JSON text of exactly `n` UTF-16 units: the document padded with spaces, its resource ending
    // in an emoji (two units, one code point).
    const sized = (n: number) => {
      const text = JSON.stringify({
        Version: '1',
        Statement: [
          { Effect: 'Allow', Action: 'vpc:List*', Resource: 'acs:vpc:*:*:trafficmirrorfilter/\u{1F600}' },
        ],
      });
      return text + ' '.repeat(n - text.length);
    };
    const policy = (n: number) => account({ policies: [{ name: 'p', document: sized(n) }] });
    const session = (n: number) => account({ roles: [{ name: 'r', credentials: [{ policy: sized(n) }] }] });
    validateSetup(policy(6_144), 'test.yaml');
    rejects(
      policy(6_145),
      'accounts[0].policies[0].document is invalid policy document: 6,145 characters, more than the 6,144 a policy may have',
    );
    validateSetup(session(2_048), 'test.yaml');
    rejects(
      session(2_049),
      'accounts[0].roles[0].credentials[0].policy is invalid policy document: 2,049 characters, more than the 2,048 a session policy may have',
    );
    // A document given as YAML or JSON structure is measured as the JSON text that is stored.
    const long = {
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'vpc:List*', Resource: `acs:vpc:*:*:${'x'.repeat(6_100)}` }],
    };
    rejects(account({ policies: [{ name: 'p', document: long }] }), 'more than the 6,144 a policy may have');
  });

  test('a long refused value is repeated cut short, with its length', () => {
    const err = rejects(
      account({ users: [{ name: `bad ${'n'.repeat(100_000)}` }] }),
      `accounts[0].users[0].name "bad ${'n'.repeat(76)}…" (100,004 characters) must be`,
    );
    assert.ok(err.message.length < 400, `${err.message.length} characters`);
    // Counted in UTF-16 units, as lengths are, and never cut inside a surrogate pair.
    rejects(
      account({ users: [{ name: `a${'\u{1F600}'.repeat(50)}` }] }),
      `"a${'\u{1F600}'.repeat(39)}…" (101 characters) must be`,
    );
  });

  test('groups: a name given twice, a member listed twice and an unknown field are refused by path', () => {
    rejects(
      account({
        users: [{ name: 'gina' }],
        groups: [
          { name: 'g', users: ['gina', 'gina'] },
          { name: 'g', members: [] },
        ],
      }),
      'accounts[0].groups[0].users[1] repeats user "gina" of accounts[0].groups[0].users[0]',
      'accounts[0].groups[1].name repeats group name "g" of accounts[0].groups[0].name',
      'accounts[0].groups[1].members is not a known field',
    );
  });

  test('reports every problem of a file at once', () => {
    const err = rejects(
      { accounts: [{ id: '1' }, { name: 'b', users: [{ name: 'bad name' }] }] },
      'has 2 problems',
      'accounts[0].id',
      'accounts[1].users[0].name',
    );
    assert.equal(err.problems.length, 2);
  });

  test('never repeats a secret in a message', () => {
    const err = rejects(account({ accessKeys: [{ accessKeyId: 'LTAIabc', accessKeySecret: 'my secret' }] }));
    assert.ok(!err.message.includes('my secret'));
  });

  test('is a ConfigError, so serve reports it in one message and exits 2', () => {
    assert.ok(rejects({}) instanceof ConfigError);
  });

  test('refuses invalid JSON, invalid YAML and a missing file, naming the file', () => {
    assert.throws(() => loadSetupFile(file('bad.json', '{"accounts": [')), /bad\.json: is not valid JSON/);
    assert.throws(
      () => loadSetupFile(file('bad.yaml', 'accounts:\n  - id: "1"\n    id: "2"\n')),
      /bad\.yaml: is not valid YAML/,
    );
    assert.throws(() => loadSetupFile(join(tempDir, 'absent.yaml')), /absent\.yaml: cannot be read/);
  });

  test('a file that will not parse is reported by place, never quoting a secret around the fault', () => {
    const yamlErr = (() => {
      try {
        loadSetupFile(
          file(
            'secret.yaml',
            'accounts:\n  - id: "1"\n    accessKeys:\n      - accessKeyId: LTAIa\n        accessKeySecret: "TopSecretValue123\n',
          ),
        );
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.match(String(yamlErr?.message), /secret\.yaml: is not valid YAML: .*line \d+, column \d+/);
    assert.ok(!String(yamlErr?.message).includes('TopSecretValue123'), String(yamlErr?.message));
    const jsonErr = (() => {
      try {
        loadSetupFile(
          file('secret.json', '{"accounts":[{"accessKeys":[{"accessKeySecret":SuperSecretValue}]}]}'),
        );
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.match(String(jsonErr?.message), /secret\.json: is not valid JSON( at line 1, column \d+)?$/);
    assert.match(
      String(
        (() => {
          try {
            loadSetupFile(file('cut.json', '{"accounts":\n  [1 2]}'));
          } catch (e) {
            return (e as Error).message;
          }
          return '';
        })(),
      ),
      /cut\.json: is not valid JSON at line 2, column \d+$/,
    );
    assert.ok(!String(jsonErr?.message).includes('SuperSecret'), String(jsonErr?.message));
  });

  test('YAML aliases: an anchor shared many times is read, an undefined alias is a one-line refusal; a JSON file may start with a byte-order mark', () => {
    const users = Array.from({ length: 150 }, (_, i) => `      - name: u${i}\n        policies: *ro\n`).join(
      '',
    );
    const setup = loadSetupFile(
      file(
        'shared.yaml',
        `accounts:\n  - id: "1000000000000001"\n    policies: []\n    users:\n      - name: first\n        policies: &ro [AliyunVPCReadOnlyAccess]\n${users}`,
      ),
    );
    assert.equal(setup.accounts[0]?.users.length, 151);
    assert.throws(
      () => loadSetupFile(file('unresolved.yaml', 'accounts: *nope\n')),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /unresolved\.yaml: is not valid YAML/);
        return true;
      },
    );
    assert.equal(
      loadSetupFile(file('bom.json', '\uFEFF{"accounts":[{"id":"1000000000000002"}]}')).accounts[0]?.id,
      '1000000000000002',
    );
  });

  test('a JSON file giving a key twice in one object is refused by place (JSON.parse would keep the last silently); YAML merges `<<: *anchor`', () => {
    assert.throws(
      () =>
        loadSetupFile(
          file(
            'twice.json',
            '{"accounts":[{"id":"1000000000000003","accessKeys":[\n  {"accessKeyId":"LTAItwice0001","accessKeySecret":"first-secret-1","accessKeySecret":"second-secret-2"}]}]}',
          ),
        ),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /twice\.json: gives a key twice in one object at line 2, column \d+$/);
        assert.ok(!e.message.includes('secret-'), e.message);
        return true;
      },
    );
    const merged = loadSetupFile(
      file(
        'merge.yaml',
        [
          'accounts:',
          '  - id: "1000000000000004"',
          '    users:',
          '      - &reader',
          '        name: reader1',
          '        policies: [AliyunVPCReadOnlyAccess]',
          '      - <<: *reader',
          '        name: reader2',
          '',
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      merged.accounts[0]?.users.map((u) => [u.name, u.policies.map((p) => p.name)]),
      [
        ['reader1', ['AliyunVPCReadOnlyAccess']],
        ['reader2', ['AliyunVPCReadOnlyAccess']],
      ],
    );
  });

  test('the complete example in docs/ram.md is valid', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'ram.md'), 'utf8');
    const example = /```yaml\n(# setup\.yaml[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, 'docs/ram.md has the example');
    const setup = loadSetupFile(file('doc-example.yaml', example));
    assert.deepEqual(
      setup.accounts.map((a) => a.name),
      ['team-a', 'team-b'],
    );
  });

  test('accepts an unquoted 16-digit account id in YAML while it is exact', () => {
    const setup = loadSetupFile(file('number.yaml', `accounts:\n  - id: ${ACCOUNT_A}\n`));
    assert.equal(setup.accounts[0]?.id, ACCOUNT_A);
  });
});

async function openTestStore(kind: StoreKind): Promise<{ store: Store; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const store = await openStore({ location: join(tempDir, `s-${randomBytes(4).toString('hex')}.sqlite`) });
    return { store, drop: () => store.close() };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const store = await openStore({ location: pgUrl(), schema });
  return {
    store,
    async drop() {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
      await store.close();
    },
  };
}

for (const kind of testStores()) {
  describe(`applying a set-up file [${kind}]`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    before(async () => {
      ({ store, drop } = await openTestStore(kind));
    });
    after(() => drop());

    test('a full JSON file creates every account, user, key, policy, attachment and credential', async () => {
      const defined = await applySetupFile(store, file('full.json', JSON.stringify(FULL)), NOW, () => {
        assert.fail('nothing is generated when every value is fixed');
      });
      assert.equal(defined.definesCredentials, true);
      assert.equal(defined.accounts, FULL.accounts.length);
      assert.equal(defined.generated, 0);
      const s = await snapshot(store);
      const a = (s.accounts as Array<Record<string, unknown>>).find((x) => x.id === ACCOUNT_A);
      assert.deepEqual(a, {
        id: ACCOUNT_A,
        name: 'team-a',
        default_resource_group_id: 'rg-teamadefault',
        created_at: NOW,
      });
      assert.ok((s.accounts as Array<Record<string, unknown>>).some((x) => x.name === 'team-b'));
      const keys = new Map((s.keys as Array<Record<string, unknown>>).map((k) => [k.access_key_id, k]));
      assert.equal(keys.get('LTAIalice00000001')?.user_name, 'alice');
      assert.equal(keys.get('LTAIalice00000001')?.secret, 'alice-secret');
      assert.equal(keys.get('LTAIbob0000000001')?.status, 'Inactive');
      assert.equal(keys.get('LTAIteamaroot0001')?.user_name, null);
      const ci = keys.get('STS.ci0000000000001');
      assert.equal(ci?.role_name, 'ci');
      assert.equal(ci?.security_token, 'vmst.ci-token-1');
      assert.equal(ci?.expires_at, Date.UTC(2030, 0, 1));
      assert.match(String(ci?.session_policy), /vpc:List\*/);
      assert.equal(keys.get('STS.ci0000000000002')?.expires_at, Date.UTC(2020, 0, 1));
      assert.deepEqual(
        (s.attachments as Array<Record<string, unknown>>)
          .map((x) => `${x.principal_type}:${x.principal_name}:${x.policy_type}:${x.policy_name}`)
          .sort(),
        [
          'Role:ci:System:AliyunVPCFullAccess',
          'User:alice:Custom:one-filter',
          'User:alice:System:AliyunVPCReadOnlyAccess',
        ],
      );
      const [policy] = s.policies as Array<Record<string, unknown>>;
      assert.deepEqual(JSON.parse(String(policy?.document)), READ_ONE_FILTER);
      assert.equal(policy?.description, 'list, and delete tmf-abc');
    });

    test('applying the same file again changes nothing and fails on nothing', async () => {
      const before = await snapshot(store);
      const again = await applySetupFile(store, file('again.json', JSON.stringify(FULL)), NOW + 60_000);
      assert.equal(again.definesCredentials, true);
      assert.deepEqual(await snapshot(store), before);
    });

    test('the YAML form of the same file changes nothing either', async () => {
      const before = await snapshot(store);
      await applySetupFile(store, file('again.yaml', stringify(FULL)), NOW + 120_000);
      assert.deepEqual(await snapshot(store), before);
    });

    test('the YAML file gives the same store as the JSON file on an empty database', async () => {
      const other = await openTestStore(kind);
      try {
        await applySetupFile(other.store, file('fresh.yaml', stringify(FULL)), NOW);
        assert.deepEqual(comparable(await snapshot(other.store)), comparable(await snapshot(store)));
      } finally {
        await other.drop();
      }
    });

    test('an edited file updates what it names: a new secret, status, document and name', async () => {
      const teamA = structuredClone(TEAM_A);
      teamA.name = 'team-a-renamed';
      const aliceKey = teamA.users[0]?.accessKeys[0];
      if (aliceKey) aliceKey.accessKeySecret = 'alice-rotated';
      const bobKey = teamA.users[1]?.accessKeys[0];
      if (bobKey) bobKey.status = 'Active';
      const policy = teamA.policies[0];
      if (policy)
        policy.document = { Version: '1', Statement: [{ Effect: 'Deny', Action: ['*'], Resource: '*' }] };
      const edited = { accounts: [teamA, TEAM_B] };
      const applied = await applySetupFile(store, file('edited.yaml', stringify(edited)), NOW);
      // What a start warns about: a disabled key turned on again, and a replaced secret.
      assert.deepEqual(applied.changes, {
        reenabled: ['LTAIbob0000000001'],
        secretReplaced: ['LTAIalice00000001'],
      });
      const s = await snapshot(store);
      const keys = new Map((s.keys as Array<Record<string, unknown>>).map((k) => [k.access_key_id, k]));
      assert.equal(keys.get('LTAIalice00000001')?.secret, 'alice-rotated');
      assert.equal(keys.get('LTAIbob0000000001')?.status, 'Active');
      assert.match(String((s.policies[0] as Record<string, unknown>).document), /Deny/);
      assert.ok((s.accounts as Array<Record<string, unknown>>).some((a) => a.name === 'team-a-renamed'));
      // And back, so later tests see the original.
      const back = await applySetupFile(store, file('original.json', JSON.stringify(FULL)), NOW);
      assert.deepEqual(back.changes, { reenabled: [], secretReplaced: ['LTAIalice00000001'] });
    });

    test('generated credentials are made and reported once, and not again on re-apply', async () => {
      const setup = validateSetup(
        {
          accounts: [
            {
              name: 'generated',
              accessKeys: [{}],
              users: [{ name: 'gen-user', accessKeys: [{}, {}] }],
              roles: [{ name: 'gen-role', credentials: [{ durationSeconds: 600 }] }],
            },
          ],
        },
        'generated.yaml',
      );
      const first = await applySetup(store, setup, 'generated.yaml', NOW);
      assert.equal(first.generated.length, 4);
      assert.deepEqual(
        first.generated.map((g) => g.principal),
        ['root', 'user:gen-user', 'user:gen-user', 'role:gen-role'],
      );
      const role = first.generated[3];
      assert.match(String(role?.accessKeyId), /^STS\./);
      assert.match(String(role?.securityToken), /^vmst\./);
      assert.equal(role?.expiration, '2026-01-01T00:10:00Z');
      const before = await snapshot(store);
      const second = await applySetup(store, setup, 'generated.yaml', NOW + 60_000);
      assert.deepEqual(second.generated, []);
      assert.deepEqual(await snapshot(store), before);
      // Once the generated temporary credentials expire, the next start issues fresh ones.
      const later = await applySetup(store, setup, 'generated.yaml', NOW + 3_600_000);
      assert.deepEqual(
        later.generated.map((g) => g.principal),
        ['role:gen-role'],
      );
    });

    test('generated credentials with a fixed expiration are issued once, also when that time has passed', async () => {
      const setup = validateSetup(
        {
          accounts: [
            {
              name: 'expiring',
              roles: [{ name: 'dated', credentials: [{ expiration: '2020-01-01T00:00:00Z' }] }],
            },
          ],
        },
        'expiring.yaml',
      );
      const first = await applySetup(store, setup, 'expiring.yaml', NOW);
      assert.deepEqual(
        first.generated.map((g) => [g.principal, g.expiration]),
        [['role:dated', '2020-01-01T00:00:00Z']],
      );
      for (const later of [NOW + 60_000, NOW + 3_600_000])
        assert.deepEqual((await applySetup(store, setup, 'expiring.yaml', later)).generated, []);
    });

    test('a file without any keys or credentials defines no credentials', async () => {
      const path = file('nokeys.yaml', 'accounts:\n  - name: no-keys\n    users:\n      - name: carol\n');
      const { firstAccountId, ...rest } = await applySetupFile(store, path, NOW);
      assert.deepEqual(rest, {
        definesCredentials: false,
        accounts: 1,
        generated: 0,
        changes: { reenabled: [], secretReplaced: [] },
      });
      assert.equal(
        (
          await store.db
            .selectFrom('accounts')
            .select('name')
            .where('id', '=', firstAccountId ?? '')
            .executeTakeFirst()
        )?.name,
        'no-keys',
      );
    });

    test('refuses an AccessKey id that belongs to another principal, naming the path, and writes nothing', async () => {
      const before = await snapshot(store);
      const setup = validateSetup(
        {
          accounts: [
            { name: 'newcomer', users: [{ name: 'mallory' }] },
            {
              id: ACCOUNT_B,
              accessKeys: [{ accessKeyId: 'LTAIalice00000001', accessKeySecret: 'stolen' }],
            },
          ],
        },
        'steal.yaml',
      );
      await assert.rejects(
        applySetup(store, setup, 'steal.yaml', NOW),
        (e: unknown) =>
          e instanceof SetupFileError &&
          e.message.includes(
            'accounts[1].accessKeys[0].accessKeyId LTAIalice00000001 belongs to RAM user alice',
          ),
      );
      assert.deepEqual(await snapshot(store), before, 'the transaction rolled back');
    });

    test('groups: made with their members and policies, the same again changes nothing, a member the account lacks is refused by path', async () => {
      const file = {
        accounts: [
          {
            id: ACCOUNT_A,
            users: [{ name: 'gina' }, { name: 'gus' }],
            groups: [
              {
                name: 'readers',
                comments: 'read only',
                users: ['gina', 'gus'],
                policies: ['AliyunVPCReadOnlyAccess'],
              },
              { name: 'empty' },
            ],
          },
        ],
      };
      const setup = validateSetup(file, 'groups.yaml');
      const groupsNow = async () => ({
        groups: await store.db
          .selectFrom('ram_groups')
          .select(['group_name', 'comments'])
          .where('account_id', '=', ACCOUNT_A)
          .orderBy('group_name')
          .execute(),
        members: await store.db
          .selectFrom('ram_group_members')
          .select(['group_name', 'user_name'])
          .where('account_id', '=', ACCOUNT_A)
          .orderBy('group_name')
          .orderBy('user_name')
          .execute(),
        attached: await store.db
          .selectFrom('policy_attachments')
          .select(['principal_name', 'policy_name'])
          .where('account_id', '=', ACCOUNT_A)
          .where('principal_type', '=', 'Group')
          .execute(),
      });
      await applySetup(store, setup, 'groups.yaml', NOW);
      const first = await groupsNow();
      assert.deepEqual(first, {
        groups: [
          { group_name: 'empty', comments: '' },
          { group_name: 'readers', comments: 'read only' },
        ],
        members: [
          { group_name: 'readers', user_name: 'gina' },
          { group_name: 'readers', user_name: 'gus' },
        ],
        attached: [{ principal_name: 'readers', policy_name: 'AliyunVPCReadOnlyAccess' }],
      });
      await applySetup(store, setup, 'groups.yaml', NOW + 1);
      assert.deepEqual(await groupsNow(), first);
      const unknown = validateSetup(
        { accounts: [{ id: ACCOUNT_A, groups: [{ name: 'readers', users: ['gina', 'nobody'] }] }] },
        'unknown.yaml',
      );
      await assert.rejects(
        applySetup(store, unknown, 'unknown.yaml', NOW),
        (e: unknown) =>
          e instanceof SetupFileError &&
          e.message.includes(
            'accounts[0].groups[0].users[1]: account 1234567890123456 has no RAM user "nobody"',
          ),
      );
      assert.deepEqual(await groupsNow(), first, 'nothing of the refused file was kept');
    });

    test('the complete example in docs/ram.md applies: its group holds the users it names', async () => {
      const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'ram.md'), 'utf8');
      const example = /```yaml\n(# setup\.yaml[\s\S]*?)```/.exec(doc)?.[1] ?? assert.fail('no example');
      const setup = loadSetupFile(file('doc-example-applied.yaml', example));
      await applySetup(store, setup, 'doc-example-applied.yaml', NOW);
      const members = await store.db
        .selectFrom('ram_group_members')
        .select(['group_name', 'user_name'])
        .where('account_id', '=', '1234567890123456')
        .where('group_name', '=', 'auditors')
        .orderBy('user_name')
        .execute();
      assert.deepEqual(
        members.map((m) => m.user_name),
        ['janitor', 'operator'],
      );
    });

    test('refuses a reference to a policy the account does not have, naming the path', async () => {
      const setup = validateSetup(
        { accounts: [{ id: ACCOUNT_A, users: [{ name: 'alice', policies: ['no-such-policy'] }] }] },
        'missing.yaml',
      );
      await assert.rejects(
        applySetup(store, setup, 'missing.yaml', NOW),
        (e: unknown) =>
          e instanceof SetupFileError &&
          e.message.includes(
            'accounts[0].users[0].policies[0]: account 1234567890123456 has no policy "no-such-policy"',
          ),
      );
    });

    test('a policy the account already has in the store may be referenced without defining it', async () => {
      const setup = validateSetup(
        { accounts: [{ id: ACCOUNT_A, roles: [{ name: 'auditor', policies: ['one-filter'] }] }] },
        'existing.yaml',
      );
      await applySetup(store, setup, 'existing.yaml', NOW);
      const rows = await store.db
        .selectFrom('policy_attachments')
        .selectAll()
        .where('principal_name', '=', 'auditor')
        .execute();
      assert.deepEqual(
        rows.map((r) => `${r.principal_type}:${r.policy_type}:${r.policy_name}`),
        ['Role:Custom:one-filter'],
      );
    });
  });
}
