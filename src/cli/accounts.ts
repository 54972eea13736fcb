/**
 * `vpcmirror account|user|key|sts|policy|setup …`: RAM management on the store itself, with no
 * server involved. A running server reads credentials and policies from the database on every
 * request, so what these commands write applies to it at once. Output is for people by default
 * and JSON with `--json`; a secret is printed only by the command that creates it.
 */
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  AccountsError,
  accountViews,
  addUserToGroup,
  attachPolicy,
  createAccessKey,
  createAccount,
  createGroup,
  createPolicy,
  createUser,
  detachPolicy,
  groupViews,
  inTransaction,
  issueTemporaryCredentials,
  keyViews,
  type PolicyType,
  PRINCIPAL_LABELS,
  type PrincipalRef,
  policyDocumentText,
  policyViews,
  removeUserFromGroup,
  setAccessKeyEnabled,
  userViews,
} from '../accounts/accounts.service.js';
import { applySetup, describeGenerated, loadSetupFile } from '../accounts/setup-file.js';
import { loadConfig } from '../config.js';
import type { Executor } from '../store/database.js';
import { openStore, storeExists } from '../store/store.js';
import { UsageError } from './call.js';

export const ACCOUNT_COMMANDS = ['account', 'user', 'group', 'key', 'sts', 'policy', 'setup'] as const;

export const ACCOUNTS_HELP = `RAM management (works on the store; a running server sees changes at once):
  vpcmirror account create [--name NAME] [--id 16DIGITS] [--resource-group rg-…]
  vpcmirror account list
  vpcmirror user create --account ID --name alice [--display-name "Alice"]
  vpcmirror user list [--account ID]
  vpcmirror group create --account ID --name NAME [--comments TEXT]
  vpcmirror group add-user|remove-user --account ID --group NAME --user alice
  vpcmirror group list [--account ID]
  vpcmirror key create --account ID [--user alice]
  vpcmirror key disable --id AK    vpcmirror key enable --id AK
  vpcmirror key list [--account ID] [--user alice | --role NAME]
  vpcmirror sts create --account ID --role NAME [--duration 3600] [--policy session-policy.json]
  vpcmirror policy create --account ID --name NAME --document policy.json|- [--description TEXT]
  vpcmirror policy attach --account ID (--user alice | --group NAME | --role NAME) --policy NAME [--type System|Custom]
  vpcmirror policy detach --account ID (--user alice | --group NAME | --role NAME) --policy NAME [--type System|Custom]
  vpcmirror policy list [--account ID]
  vpcmirror setup check FILE       vpcmirror setup apply FILE
Every command takes --data-dir DIR or --database URL (as serve does) and --json.
`;

type Flags = Record<string, string | boolean | undefined>;
type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  'data-dir': { type: 'string' },
  database: { type: 'string' },
  json: { type: 'boolean' },
};

interface Io {
  readonly out: (text: string) => void;
  readonly readInput: (path: string) => string;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(text),
  readInput: (path) => readFileSync(path === '-' ? 0 : path, 'utf8'),
};

function parse(args: readonly string[], options: Options, positionals = 0): { flags: Flags; rest: string[] } {
  const { values, positionals: rest } = parseArgs({
    args: [...args],
    options: { ...COMMON, ...options },
    strict: true,
    allowPositionals: positionals > 0,
  });
  if (rest.length > positionals) throw new UsageError(`unexpected argument "${rest[positionals]}"`);
  return { flags: values as Flags, rest };
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

function required(flags: Flags, name: string, usage: string): string {
  const v = str(flags, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required (${usage})`);
  return v;
}

/** `--user alice` or `--role NAME`, exactly one. */
function principalOf(flags: Flags, usage: string): PrincipalRef {
  const given = (['user', 'group', 'role'] as const).flatMap((flag) => {
    const name = str(flags, flag);
    return name === undefined ? [] : [{ flag, name }];
  });
  const [one] = given;
  if (given.length !== 1 || one === undefined)
    throw new UsageError(`give exactly one of --user, --group or --role (${usage})`);
  return { type: one.flag === 'user' ? 'User' : one.flag === 'group' ? 'Group' : 'Role', name: one.name };
}

function policyTypeOf(flags: Flags): PolicyType | undefined {
  const t = str(flags, 'type');
  if (t === undefined) return undefined;
  if (t !== 'System' && t !== 'Custom') throw new UsageError(`--type must be System or Custom, got "${t}"`);
  return t;
}

/**
 * Reads a policy document from a file or stdin (`-`) and checks it, so that a refusal names the
 * file as well as the element at fault.
 */
function readPolicy(io: Io, path: string, kind: 'policy' | 'session'): string {
  const what = kind === 'policy' ? 'policy document' : 'session policy';
  const where = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = io.readInput(path);
  } catch (e) {
    throw new AccountsError(
      `cannot read the ${what} from ${where}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  try {
    return policyDocumentText(text, kind);
  } catch (e) {
    if (e instanceof AccountsError) throw new AccountsError(`${where}: ${e.message}`);
    throw e;
  }
}

/** The rows as aligned columns, in the order the first row names them. */
function table(rows: ReadonlyArray<Record<string, string>>): string {
  const first = rows[0];
  if (first === undefined) return '(none)\n';
  const columns = Object.keys(first);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(columns), ...rows.map((r) => line(columns.map((c) => r[c] ?? '')))].join('\n')}\n`;
}

/**
 * A list command's answer: the views as JSON with --json, else a table of the rows they make (the
 * row's keys are the column headings, in order).
 */
function printList<V>(
  io: Io,
  flags: Flags,
  views: readonly V[],
  row: (v: V) => Record<string, string>,
): void {
  io.out(flags.json ? json(views) : table(views.map(row)));
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The store the flags (or VPCMIRROR_DATA_DIR / _DATABASE_URL) name; no server setting is read. */
function storeConfig(flags: Flags) {
  return loadConfig({ 'data-dir': str(flags, 'data-dir'), database: str(flags, 'database') }, process.env, {
    for: 'store',
  });
}

/**
 * Runs `fn` on the store of the flags. Only `account create` makes a store where there is none:
 * every other command needs an account there, and a mistyped --data-dir must not leave an empty
 * store behind that later commands would take for the right one.
 */
async function withStore<T>(
  flags: Flags,
  fn: (db: Executor) => Promise<T>,
  mayCreate: 'may create' | 'must exist' = 'must exist',
): Promise<T> {
  const config = storeConfig(flags);
  if (mayCreate === 'must exist' && !storeExists(config.database))
    throw new AccountsError(
      `no store at ${config.database}: nothing has been created there (give the --data-dir or --database the server uses)`,
    );
  const store = await openStore({ location: config.database });
  try {
    return await fn(store.db);
  } finally {
    await store.close();
  }
}

const SECRET_NOTE = 'The secret is shown only now: keep it somewhere safe.\n';

// ---- commands ------------------------------------------------------------------------------

async function account(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  switch (sub) {
    case 'create': {
      const { flags } = parse(args, {
        name: { type: 'string' },
        id: { type: 'string' },
        'resource-group': { type: 'string' },
      });
      const id = str(flags, 'id');
      const name = str(flags, 'name');
      const rg = str(flags, 'resource-group');
      const now = Date.now();
      const { row, key } = await withStore(
        flags,
        (db) =>
          inTransaction(db, async (tx) => {
            const row = await createAccount(
              tx,
              {
                ...(id !== undefined ? { id } : {}),
                ...(name !== undefined ? { name } : {}),
                ...(rg !== undefined ? { resourceGroupId: rg } : {}),
              },
              now,
            );
            const key = await createAccessKey(tx, { accountId: row.id }, now);
            return { row, key };
          }),
        'may create',
      );
      if (flags.json) {
        io.out(
          json({
            AccountId: row.id,
            Name: row.name,
            DefaultResourceGroupId: row.default_resource_group_id,
            AccessKeyId: key.accessKeyId,
            AccessKeySecret: key.accessKeySecret,
          }),
        );
      } else {
        io.out(
          `Created account ${row.id} (${row.name})\n` +
            `  default resource group: ${row.default_resource_group_id}\n` +
            `  root AccessKey id:      ${key.accessKeyId}\n` +
            `  root AccessKey secret:  ${key.accessKeySecret}\n${SECRET_NOTE}`,
        );
      }
      return 0;
    }
    case 'list': {
      const { flags } = parse(args, {});
      const views = await withStore(flags, (db) => accountViews(db));
      printList(io, flags, views, (v) => ({
        ACCOUNT: v.AccountId,
        NAME: v.Name,
        'RESOURCE GROUP': v.DefaultResourceGroupId,
        USERS: String(v.Users),
        KEYS: String(v.AccessKeys),
        CREATED: v.CreateDate,
      }));
      return 0;
    }
    default:
      throw new UsageError('usage: vpcmirror account create [--name NAME] | vpcmirror account list');
  }
}

async function user(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  switch (sub) {
    case 'create': {
      const usage = 'vpcmirror user create --account ID --name alice';
      const { flags } = parse(args, {
        account: { type: 'string' },
        name: { type: 'string' },
        'display-name': { type: 'string' },
      });
      const accountId = required(flags, 'account', usage);
      const name = required(flags, 'name', usage);
      const displayName = str(flags, 'display-name');
      const row = await withStore(flags, (db) =>
        createUser(
          db,
          { accountId, name, ...(displayName !== undefined ? { displayName } : {}) },
          Date.now(),
        ),
      );
      if (flags.json)
        io.out(
          json({
            AccountId: row.account_id,
            UserName: row.user_name,
            UserId: row.user_id,
            DisplayName: row.display_name,
          }),
        );
      else
        io.out(
          `Created RAM user ${row.user_name} (id ${row.user_id}) in account ${row.account_id}\n` +
            'It may do nothing until a policy is attached: vpcmirror policy attach --account ' +
            `${row.account_id} --user ${row.user_name} --policy AliyunVPCReadOnlyAccess\n`,
        );
      return 0;
    }
    case 'list': {
      const { flags } = parse(args, { account: { type: 'string' } });
      const accountId = str(flags, 'account');
      const views = await withStore(flags, (db) => userViews(db, accountId));
      printList(io, flags, views, (v) => ({
        ACCOUNT: v.AccountId,
        USER: v.UserName,
        'DISPLAY NAME': v.DisplayName,
        KEYS: String(v.AccessKeys),
        GROUPS: v.Groups.join(', '),
        POLICIES: v.Policies.join(', '),
      }));
      return 0;
    }
    default:
      throw new UsageError('usage: vpcmirror user create --account ID --name alice | vpcmirror user list');
  }
}

async function group(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  switch (sub) {
    case 'create': {
      const usage = 'vpcmirror group create --account ID --name NAME';
      const { flags } = parse(args, {
        account: { type: 'string' },
        name: { type: 'string' },
        comments: { type: 'string' },
      });
      const accountId = required(flags, 'account', usage);
      const name = required(flags, 'name', usage);
      const comments = str(flags, 'comments');
      const row = await withStore(flags, (db) =>
        createGroup(db, { accountId, name, ...(comments !== undefined ? { comments } : {}) }, Date.now()),
      );
      if (flags.json)
        io.out(json({ AccountId: row.account_id, GroupName: row.group_name, Comments: row.comments }));
      else
        io.out(
          `Created RAM user group ${row.group_name} in account ${row.account_id}\n` +
            `Its members hold the policies attached to it: vpcmirror group add-user --account ${row.account_id} ` +
            `--group ${row.group_name} --user alice; vpcmirror policy attach --account ${row.account_id} ` +
            `--group ${row.group_name} --policy AliyunVPCReadOnlyAccess\n`,
        );
      return 0;
    }
    case 'add-user':
    case 'remove-user': {
      const usage = `vpcmirror group ${sub} --account ID --group NAME --user alice`;
      const { flags } = parse(args, {
        account: { type: 'string' },
        group: { type: 'string' },
        user: { type: 'string' },
      });
      const membership = {
        accountId: required(flags, 'account', usage),
        groupName: required(flags, 'group', usage),
        userName: required(flags, 'user', usage),
      };
      const changed = await withStore(flags, async (db) => {
        if (sub === 'add-user') return addUserToGroup(db, membership, Date.now());
        await removeUserFromGroup(db, membership);
        return true;
      });
      const { accountId, groupName, userName } = membership;
      if (flags.json)
        io.out(json({ AccountId: accountId, GroupName: groupName, UserName: userName, Changed: changed }));
      else if (sub === 'remove-user')
        io.out(`Removed RAM user ${userName} from group ${groupName} of account ${accountId}\n`);
      else
        io.out(
          changed
            ? `Added RAM user ${userName} to group ${groupName} of account ${accountId}\n`
            : `RAM user ${userName} was a member of group ${groupName} already\n`,
        );
      return 0;
    }
    case 'list': {
      const { flags } = parse(args, { account: { type: 'string' } });
      const accountId = str(flags, 'account');
      const views = await withStore(flags, (db) => groupViews(db, accountId));
      printList(io, flags, views, (v) => ({
        ACCOUNT: v.AccountId,
        GROUP: v.GroupName,
        USERS: v.Users.join(', '),
        POLICIES: v.Policies.join(', '),
        COMMENTS: v.Comments,
      }));
      return 0;
    }
    default:
      throw new UsageError('usage: vpcmirror group create|add-user|remove-user|list (see vpcmirror help)');
  }
}

async function key(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  switch (sub) {
    case 'create': {
      const { flags } = parse(args, { account: { type: 'string' }, user: { type: 'string' } });
      const accountId = required(flags, 'account', 'vpcmirror key create --account ID [--user alice]');
      const userName = str(flags, 'user');
      const k = await withStore(flags, (db) =>
        createAccessKey(db, { accountId, ...(userName !== undefined ? { userName } : {}) }, Date.now()),
      );
      if (flags.json)
        io.out(
          json({
            AccountId: k.accountId,
            UserName: k.userName,
            AccessKeyId: k.accessKeyId,
            AccessKeySecret: k.accessKeySecret,
            Status: k.status,
          }),
        );
      else
        io.out(
          `Created AccessKey for ${k.userName === null ? 'the root' : `RAM user ${k.userName}`} of account ${k.accountId}\n` +
            `  AccessKey id:     ${k.accessKeyId}\n  AccessKey secret: ${k.accessKeySecret}\n${SECRET_NOTE}`,
        );
      return 0;
    }
    case 'disable':
    case 'enable': {
      const { flags } = parse(args, { id: { type: 'string' } });
      const id = required(flags, 'id', `vpcmirror key ${sub} --id AK`);
      const row = await withStore(flags, (db) => setAccessKeyEnabled(db, id, sub === 'enable'));
      if (flags.json) io.out(json({ AccessKeyId: row.access_key_id, Status: row.status }));
      else io.out(`AccessKey ${row.access_key_id} is ${row.status}\n`);
      return 0;
    }
    case 'list': {
      const { flags } = parse(args, {
        account: { type: 'string' },
        user: { type: 'string' },
        role: { type: 'string' },
      });
      // A key belongs to a user or to a role, never both: asked for both, nothing could match.
      if (str(flags, 'user') !== undefined && str(flags, 'role') !== undefined)
        throw new UsageError('key list takes --user or --role, not both');
      const filter = {
        ...(str(flags, 'account') !== undefined ? { accountId: str(flags, 'account') ?? '' } : {}),
        ...(str(flags, 'user') !== undefined ? { userName: str(flags, 'user') ?? '' } : {}),
        ...(str(flags, 'role') !== undefined ? { roleName: str(flags, 'role') ?? '' } : {}),
      };
      const now = Date.now();
      const views = await withStore(flags, (db) => keyViews(db, filter, now));
      printList(io, flags, views, (v) => ({
        'ACCESSKEY ID': v.AccessKeyId,
        ACCOUNT: v.AccountId,
        PRINCIPAL: v.Principal,
        TYPE: v.Type,
        STATUS: v.Status,
        EXPIRES: v.Expiration === null ? '-' : `${v.Expiration}${v.Expired ? ' (expired)' : ''}`,
      }));
      return 0;
    }
    default:
      throw new UsageError('usage: vpcmirror key create|disable|enable|list (see vpcmirror help)');
  }
}

async function sts(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  if (sub !== 'create')
    throw new UsageError(
      'usage: vpcmirror sts create --account ID --role NAME [--duration 3600] [--policy file.json]',
    );
  const usage = 'vpcmirror sts create --account ID --role NAME';
  const { flags } = parse(args, {
    account: { type: 'string' },
    role: { type: 'string' },
    duration: { type: 'string' },
    policy: { type: 'string' },
  });
  const accountId = required(flags, 'account', usage);
  const roleName = required(flags, 'role', usage);
  const durationText = str(flags, 'duration');
  // Decimal digits only: Number() would also take 0x10, 1e3 and " 60 ".
  if (durationText !== undefined && !/^\d{1,9}$/.test(durationText))
    throw new UsageError(`--duration must be a number of seconds, got "${durationText}"`);
  const duration = durationText === undefined ? undefined : Number(durationText);
  const policyPath = str(flags, 'policy');
  const sessionPolicy = policyPath === undefined ? undefined : readPolicy(io, policyPath, 'session');
  const c = await withStore(flags, (db) =>
    issueTemporaryCredentials(
      db,
      {
        accountId,
        roleName,
        ...(duration !== undefined ? { durationSeconds: duration } : {}),
        ...(sessionPolicy !== undefined ? { sessionPolicy } : {}),
      },
      Date.now(),
    ),
  );
  if (flags.json)
    io.out(
      json({
        AccountId: c.accountId,
        RoleName: c.roleName,
        AccessKeyId: c.accessKeyId,
        AccessKeySecret: c.accessKeySecret,
        SecurityToken: c.securityToken,
        Expiration: c.expiration,
      }),
    );
  else
    io.out(
      `Temporary credentials for role ${c.roleName} of account ${c.accountId}, valid until ${c.expiration}\n` +
        `  AccessKey id:     ${c.accessKeyId}\n  AccessKey secret: ${c.accessKeySecret}\n` +
        `  SecurityToken:    ${c.securityToken}\n${SECRET_NOTE}`,
    );
  return 0;
}

async function policy(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  switch (sub) {
    case 'create': {
      const usage = 'vpcmirror policy create --account ID --name NAME --document file.json|-';
      const { flags } = parse(args, {
        account: { type: 'string' },
        name: { type: 'string' },
        document: { type: 'string' },
        description: { type: 'string' },
      });
      const accountId = required(flags, 'account', usage);
      const name = required(flags, 'name', usage);
      const document = readPolicy(io, required(flags, 'document', usage), 'policy');
      const description = str(flags, 'description');
      const row = await withStore(flags, (db) =>
        createPolicy(
          db,
          { accountId, name, document, ...(description !== undefined ? { description } : {}) },
          Date.now(),
        ),
      );
      if (flags.json)
        io.out(
          json({
            AccountId: row.account_id,
            PolicyName: row.policy_name,
            PolicyType: 'Custom',
            Description: row.description,
          }),
        );
      else io.out(`Created custom policy ${row.policy_name} in account ${row.account_id}\n`);
      return 0;
    }
    case 'attach':
    case 'detach': {
      const usage = `vpcmirror policy ${sub} --account ID (--user alice | --group NAME | --role NAME) --policy NAME`;
      const { flags } = parse(args, {
        account: { type: 'string' },
        user: { type: 'string' },
        group: { type: 'string' },
        role: { type: 'string' },
        policy: { type: 'string' },
        type: { type: 'string' },
      });
      const accountId = required(flags, 'account', usage);
      const principal = principalOf(flags, usage);
      const policyName = required(flags, 'policy', usage);
      const policyType = policyTypeOf(flags);
      const input = { accountId, principal, policyName, ...(policyType !== undefined ? { policyType } : {}) };
      const result = await withStore(flags, (db) =>
        sub === 'attach' ? attachPolicy(db, input) : detachPolicy(db, input),
      );
      const who = `${PRINCIPAL_LABELS[principal.type]} ${principal.name}`;
      if (flags.json)
        io.out(
          json({
            AccountId: accountId,
            PrincipalType: principal.type,
            PrincipalName: principal.name,
            PolicyName: policyName,
            PolicyType: result.policyType,
            Changed: result.changed,
          }),
        );
      else if (sub === 'attach')
        io.out(
          result.changed
            ? `Attached ${result.policyType} policy ${policyName} to ${who} of account ${accountId}\n`
            : `${result.policyType} policy ${policyName} was attached to ${who} already\n`,
        );
      else io.out(`Detached ${result.policyType} policy ${policyName} from ${who} of account ${accountId}\n`);
      return 0;
    }
    case 'list': {
      const { flags } = parse(args, { account: { type: 'string' } });
      const accountId = str(flags, 'account');
      const views = await withStore(flags, (db) => policyViews(db, accountId));
      printList(io, flags, views, (v) => ({
        ACCOUNT: v.AccountId,
        POLICY: v.PolicyName,
        TYPE: v.PolicyType,
        'ATTACHED TO': v.AttachedTo.join(', ') || '-',
        DESCRIPTION: v.Description,
      }));
      return 0;
    }
    default:
      throw new UsageError('usage: vpcmirror policy create|attach|detach|list (see vpcmirror help)');
  }
}

async function setup(sub: string | undefined, args: readonly string[], io: Io): Promise<number> {
  if (sub !== 'check' && sub !== 'apply') throw new UsageError('usage: vpcmirror setup check|apply FILE');
  const { flags, rest } = parse(args, {}, 1);
  const file = rest[0];
  if (file === undefined) throw new UsageError(`usage: vpcmirror setup ${sub} FILE`);
  const parsed = loadSetupFile(file);
  if (sub === 'check') {
    const counts = {
      Accounts: parsed.accounts.length,
      Users: parsed.accounts.reduce((n, a) => n + a.users.length, 0),
      Groups: parsed.accounts.reduce((n, a) => n + a.groups.length, 0),
      Policies: parsed.accounts.reduce((n, a) => n + a.policies.length, 0),
      Roles: parsed.accounts.reduce((n, a) => n + a.roles.length, 0),
    };
    if (flags.json) io.out(json({ File: file, Valid: true, ...counts }));
    else
      io.out(
        `${file} is valid: accounts ${counts.Accounts}, users ${counts.Users}, groups ${counts.Groups}, custom policies ${counts.Policies}, roles ${counts.Roles}\n`,
      );
    return 0;
  }
  const config = storeConfig(flags);
  const store = await openStore({ location: config.database });
  try {
    const result = await applySetup(store, parsed, file, Date.now());
    if (flags.json) {
      io.out(
        json({
          File: file,
          Generated: result.generated.map((g) => ({
            Path: g.path,
            AccountId: g.accountId,
            Principal: g.principal,
            AccessKeyId: g.accessKeyId,
            AccessKeySecret: g.accessKeySecret,
            ...(g.securityToken !== undefined ? { SecurityToken: g.securityToken } : {}),
            ...(g.expiration !== undefined ? { Expiration: g.expiration } : {}),
          })),
          Reenabled: result.changes.reenabled,
          SecretReplaced: result.changes.secretReplaced,
        }),
      );
    } else {
      io.out(`Applied ${file}\n`);
      for (const g of result.generated) io.out(`${describeGenerated(g)}\n`);
      if (result.changes.reenabled.length > 0)
        io.out(`Turned on again (disabled before): ${result.changes.reenabled.join(', ')}\n`);
      if (result.changes.secretReplaced.length > 0)
        io.out(`Secret replaced: ${result.changes.secretReplaced.join(', ')}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * Runs one management command. A refusal (bad name, unknown account, malformed policy…) prints
 * one line and exits 2, like any other mistake on the command line.
 */
export async function accountsCommand(
  command: (typeof ACCOUNT_COMMANDS)[number],
  argv: readonly string[],
  io: Io = defaultIo,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) throw new UsageError(`${command} needs a subcommand\n\n${ACCOUNTS_HELP}`);
  if (['help', '--help', '-h'].includes(sub) || rest.includes('--help') || rest.includes('-h')) {
    io.out(ACCOUNTS_HELP);
    return 0;
  }
  try {
    switch (command) {
      case 'account':
        return await account(sub, rest, io);
      case 'user':
        return await user(sub, rest, io);
      case 'group':
        return await group(sub, rest, io);
      case 'key':
        return await key(sub, rest, io);
      case 'sts':
        return await sts(sub, rest, io);
      case 'policy':
        return await policy(sub, rest, io);
      case 'setup':
        return await setup(sub, rest, io);
    }
  } catch (e) {
    if (e instanceof AccountsError) {
      process.stderr.write(`vpcmirror: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
