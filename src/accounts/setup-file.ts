/**
 * The declarative set-up file loaded by `serve --config` (docs/ram.md): accounts, their root
 * keys, RAM users with keys, custom policies, attachments and temporary credentials, in JSON or
 * YAML. The whole file is validated before anything is written, every problem is reported with
 * the path of the element at fault, and applying it is idempotent: the file says what must
 * exist, applying it again (on every restart, by several nodes at once) changes nothing. Nothing
 * the file does not mention is ever removed.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { sql } from 'kysely';
import type * as Yaml from 'yaml';
import { ConfigError } from '../config.js';
import { parseIsoDate } from '../policy/document.js';
import { SYSTEM_POLICIES } from '../policy/system-policies.js';
import {
  findAccountsByName,
  findPolicy,
  findRamGroup,
  findRamUser,
  listPrincipalKeys,
  updateAccessKey,
  updateAccount,
  updatePolicy,
  updateRamGroupComments,
  updateRamUserDisplayName,
} from '../store/accounts.repo.js';
import { type AccountRow, findAccessKey, findAccount } from '../store/credentials.repo.js';
import { type Executor, newTransaction } from '../store/database.js';
import type { Store } from '../store/store.js';
import {
  AccountsError,
  addUserToGroup,
  attachPolicy,
  type Check,
  checkDuration,
  checks,
  createAccessKey,
  createAccount,
  createGroup,
  createPolicy,
  createUser,
  DEFAULT_DURATION_SECONDS,
  issueTemporaryCredentials,
  type KeyStatus,
  type PolicyType,
  policyDocumentText,
  quoted,
} from './accounts.service.js';

// ---- the validated form ----------------------------------------------------------------------

export interface SetupKey {
  readonly path: string;
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  readonly status: KeyStatus;
}

export interface SetupCredentials {
  readonly path: string;
  /** Fixed values come together: id, secret and token, or none of them. */
  readonly fixed?: { accessKeyId: string; accessKeySecret: string; securityToken: string };
  readonly expiresAt?: number;
  readonly durationSeconds: number;
  readonly sessionPolicy?: string;
  readonly status: KeyStatus;
}

export interface SetupPolicyRef {
  readonly path: string;
  readonly name: string;
  readonly type?: PolicyType;
}

export interface SetupPolicy {
  readonly path: string;
  readonly name: string;
  readonly document: string;
  readonly description?: string;
}

export interface SetupUser {
  readonly path: string;
  readonly name: string;
  readonly displayName?: string;
  readonly accessKeys: readonly SetupKey[];
  readonly policies: readonly SetupPolicyRef[];
}

export interface SetupGroup {
  readonly path: string;
  readonly name: string;
  readonly comments?: string;
  /** Its members: users of the account, defined in the file or already in the store. */
  readonly users: readonly { readonly path: string; readonly name: string }[];
  readonly policies: readonly SetupPolicyRef[];
}

export interface SetupRole {
  readonly path: string;
  readonly name: string;
  readonly policies: readonly SetupPolicyRef[];
  readonly credentials: readonly SetupCredentials[];
}

export interface SetupAccount {
  readonly path: string;
  readonly id?: string;
  readonly name?: string;
  readonly resourceGroupId?: string;
  readonly accessKeys: readonly SetupKey[];
  readonly policies: readonly SetupPolicy[];
  readonly users: readonly SetupUser[];
  readonly groups: readonly SetupGroup[];
  readonly roles: readonly SetupRole[];
}

export interface Setup {
  readonly accounts: readonly SetupAccount[];
}

export class SetupFileError extends ConfigError {
  override name = 'SetupFileError';
  /** One line per problem: `<path>: <what is wrong>`. */
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? [`… and ${problems.length - shown.length} more`] : [];
    super(
      problems.length === 1
        ? `set-up file ${source}: ${problems[0]}`
        : `set-up file ${source} has ${problems.length} problems:\n${[...shown, ...more].map((p) => `  ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

// ---- validation ------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Collects every problem of a file instead of stopping at the first. */
class Validator {
  readonly problems: string[] = [];

  fail(path: string, problem: string): undefined {
    this.problems.push(`${path} ${problem}`);
    return undefined;
  }

  object(value: unknown, path: string, known: readonly string[]): Json | undefined {
    if (!isRecord(value)) return this.fail(path, `must be an object, got ${describe(value)}`);
    for (const key of Object.keys(value)) {
      if (!known.includes(key))
        this.fail(`${path}.${key}`, `is not a known field here (known: ${known.join(', ')})`);
    }
    return value;
  }

  list(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(path, `must be a list, got ${describe(value)}`);
      return [];
    }
    return value;
  }

  string(value: unknown, path: string, test?: Check, secret = false): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'string') return this.fail(path, `must be a string, got ${describe(value)}`);
    const problem = test?.(value);
    // A secret's value is never repeated in a message.
    if (problem !== undefined) return this.fail(path, secret ? problem : `${quoted(value)} ${problem}`);
    return value;
  }

  /** Account ids: a 16-digit string; an unquoted number is accepted while it is exact. */
  accountId(value: unknown, path: string): string | undefined {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value))
        return this.fail(
          path,
          'must be written as a string: quote it, an unquoted 16-digit number loses digits',
        );
      return this.string(String(value), path, checks.accountId);
    }
    return this.string(value, path, checks.accountId);
  }
}

const ACCOUNT_FIELDS = [
  'id',
  'name',
  'resourceGroupId',
  'accessKeys',
  'policies',
  'users',
  'groups',
  'roles',
];
const KEY_FIELDS = ['accessKeyId', 'accessKeySecret', 'status'];
const POLICY_FIELDS = ['name', 'document', 'description'];
const USER_FIELDS = ['name', 'displayName', 'accessKeys', 'policies'];
const GROUP_FIELDS = ['name', 'comments', 'users', 'policies'];
const ROLE_FIELDS = ['name', 'policies', 'credentials'];
const POLICY_REF_FIELDS = ['name', 'type'];
const CREDENTIAL_FIELDS = [
  'accessKeyId',
  'accessKeySecret',
  'securityToken',
  'expiration',
  'durationSeconds',
  'policy',
  'status',
];

function validateKey(v: Validator, value: unknown, path: string): SetupKey | undefined {
  const o = v.object(value, path, KEY_FIELDS);
  if (!o) return undefined;
  const accessKeyId = v.string(o.accessKeyId, `${path}.accessKeyId`, checks.accessKeyId);
  const accessKeySecret = v.string(
    o.accessKeySecret,
    `${path}.accessKeySecret`,
    checks.accessKeySecret,
    true,
  );
  const status = (v.string(o.status, `${path}.status`, checks.keyStatus) ?? 'Active') as KeyStatus;
  if (o.accessKeyId !== undefined && o.accessKeySecret === undefined)
    v.fail(path, 'gives accessKeyId without accessKeySecret: give both, or neither to have them generated');
  if (o.accessKeyId === undefined && o.accessKeySecret !== undefined)
    v.fail(path, 'gives accessKeySecret without accessKeyId: give both, or neither to have them generated');
  return {
    path,
    status,
    ...(accessKeyId !== undefined ? { accessKeyId } : {}),
    ...(accessKeySecret !== undefined ? { accessKeySecret } : {}),
  };
}

function validatePolicyRef(v: Validator, value: unknown, path: string): SetupPolicyRef | undefined {
  if (typeof value === 'string') return { path, name: value };
  const o = v.object(value, path, POLICY_REF_FIELDS);
  if (!o) return undefined;
  if (o.name === undefined) return v.fail(`${path}.name`, 'is required');
  const name = v.string(o.name, `${path}.name`);
  const type = v.string(o.type, `${path}.type`, checks.policyType) as PolicyType | undefined;
  if (name === undefined) return undefined;
  return { path, name, ...(type !== undefined ? { type } : {}) };
}

function validatePolicyRefs(v: Validator, value: unknown, path: string): SetupPolicyRef[] {
  return v
    .list(value, path)
    .map((item, i) => validatePolicyRef(v, item, `${path}[${i}]`))
    .filter((r): r is SetupPolicyRef => r !== undefined);
}

function documentOf(
  v: Validator,
  value: unknown,
  path: string,
  kind: 'policy' | 'session',
): string | undefined {
  try {
    return policyDocumentText(value, kind);
  } catch (e) {
    if (e instanceof AccountsError) return v.fail(path, `is ${e.message}`);
    throw e;
  }
}

function validatePolicy(v: Validator, value: unknown, path: string): SetupPolicy | undefined {
  const o = v.object(value, path, POLICY_FIELDS);
  if (!o) return undefined;
  if (o.name === undefined) v.fail(`${path}.name`, 'is required');
  if (o.document === undefined) v.fail(`${path}.document`, 'is required');
  const name = v.string(o.name, `${path}.name`, checks.policyName);
  const description = v.string(o.description, `${path}.description`, checks.description);
  const document =
    o.document === undefined ? undefined : documentOf(v, o.document, `${path}.document`, 'policy');
  if (name === undefined || document === undefined) return undefined;
  return { path, name, document, ...(description !== undefined ? { description } : {}) };
}

function validateCredentials(v: Validator, value: unknown, path: string): SetupCredentials | undefined {
  const o = v.object(value, path, CREDENTIAL_FIELDS);
  if (!o) return undefined;
  const accessKeyId = v.string(o.accessKeyId, `${path}.accessKeyId`, checks.temporaryAccessKeyId);
  const accessKeySecret = v.string(
    o.accessKeySecret,
    `${path}.accessKeySecret`,
    checks.accessKeySecret,
    true,
  );
  const securityToken = v.string(o.securityToken, `${path}.securityToken`, checks.securityToken, true);
  const given = [o.accessKeyId, o.accessKeySecret, o.securityToken].filter((x) => x !== undefined).length;
  if (given !== 0 && given !== 3)
    v.fail(
      path,
      'must give accessKeyId, accessKeySecret and securityToken together, or none to have them generated',
    );
  const status = (v.string(o.status, `${path}.status`, checks.keyStatus) ?? 'Active') as KeyStatus;
  let expiresAt: number | undefined;
  if (o.expiration !== undefined) {
    const text = v.string(o.expiration, `${path}.expiration`);
    if (text !== undefined) {
      expiresAt = parseIsoDate(text);
      if (expiresAt === undefined)
        v.fail(`${path}.expiration`, `${quoted(text)} must be an ISO 8601 time, e.g. 2030-01-01T00:00:00Z`);
    }
  }
  let durationSeconds = DEFAULT_DURATION_SECONDS;
  if (o.durationSeconds !== undefined) {
    if (o.expiration !== undefined) v.fail(path, 'gives both expiration and durationSeconds: give one');
    const problem =
      typeof o.durationSeconds === 'number' ? checkDuration(o.durationSeconds) : 'must be a number';
    if (problem !== undefined) v.fail(`${path}.durationSeconds`, problem);
    else durationSeconds = o.durationSeconds as number;
  }
  const sessionPolicy =
    o.policy === undefined ? undefined : documentOf(v, o.policy, `${path}.policy`, 'session');
  return {
    path,
    status,
    durationSeconds,
    ...(accessKeyId !== undefined && accessKeySecret !== undefined && securityToken !== undefined
      ? { fixed: { accessKeyId, accessKeySecret, securityToken } }
      : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(sessionPolicy !== undefined ? { sessionPolicy } : {}),
  };
}

function validateUser(v: Validator, value: unknown, path: string): SetupUser | undefined {
  const o = v.object(value, path, USER_FIELDS);
  if (!o) return undefined;
  if (o.name === undefined) v.fail(`${path}.name`, 'is required');
  const name = v.string(o.name, `${path}.name`, checks.userName);
  const displayName = v.string(o.displayName, `${path}.displayName`, checks.displayName);
  const accessKeys = v
    .list(o.accessKeys, `${path}.accessKeys`)
    .map((k, i) => validateKey(v, k, `${path}.accessKeys[${i}]`))
    .filter((k): k is SetupKey => k !== undefined);
  const policies = validatePolicyRefs(v, o.policies, `${path}.policies`);
  if (name === undefined) return undefined;
  return { path, name, accessKeys, policies, ...(displayName !== undefined ? { displayName } : {}) };
}

function validateGroup(v: Validator, value: unknown, path: string): SetupGroup | undefined {
  const o = v.object(value, path, GROUP_FIELDS);
  if (!o) return undefined;
  if (o.name === undefined) v.fail(`${path}.name`, 'is required');
  const name = v.string(o.name, `${path}.name`, checks.groupName);
  const comments = v.string(o.comments, `${path}.comments`, checks.groupComments);
  const users = v.list(o.users, `${path}.users`).flatMap((u, i) => {
    const userName = v.string(u, `${path}.users[${i}]`, checks.userName);
    return userName === undefined ? [] : [{ path: `${path}.users[${i}]`, name: userName }];
  });
  const policies = validatePolicyRefs(v, o.policies, `${path}.policies`);
  if (name === undefined) return undefined;
  return { path, name, users, policies, ...(comments !== undefined ? { comments } : {}) };
}

function validateRole(v: Validator, value: unknown, path: string): SetupRole | undefined {
  const o = v.object(value, path, ROLE_FIELDS);
  if (!o) return undefined;
  if (o.name === undefined) v.fail(`${path}.name`, 'is required');
  const name = v.string(o.name, `${path}.name`, checks.roleName);
  const policies = validatePolicyRefs(v, o.policies, `${path}.policies`);
  const credentials = v
    .list(o.credentials, `${path}.credentials`)
    .map((c, i) => validateCredentials(v, c, `${path}.credentials[${i}]`))
    .filter((c): c is SetupCredentials => c !== undefined);
  if (name === undefined) return undefined;
  return { path, name, policies, credentials };
}

function validateAccount(v: Validator, value: unknown, path: string): SetupAccount | undefined {
  const o = v.object(value, path, ACCOUNT_FIELDS);
  if (!o) return undefined;
  if (o.id === undefined && o.name === undefined)
    v.fail(path, 'needs an id or a name (an account without an id is found again by its name)');
  const id = o.id === undefined ? undefined : v.accountId(o.id, `${path}.id`);
  const name = v.string(o.name, `${path}.name`, checks.accountName);
  const resourceGroupId = v.string(o.resourceGroupId, `${path}.resourceGroupId`, checks.resourceGroupId);
  const accessKeys = v
    .list(o.accessKeys, `${path}.accessKeys`)
    .map((k, i) => validateKey(v, k, `${path}.accessKeys[${i}]`))
    .filter((k): k is SetupKey => k !== undefined);
  const policies = v
    .list(o.policies, `${path}.policies`)
    .map((p, i) => validatePolicy(v, p, `${path}.policies[${i}]`))
    .filter((p): p is SetupPolicy => p !== undefined);
  const users = v
    .list(o.users, `${path}.users`)
    .map((u, i) => validateUser(v, u, `${path}.users[${i}]`))
    .filter((u): u is SetupUser => u !== undefined);
  const groups = v
    .list(o.groups, `${path}.groups`)
    .map((g, i) => validateGroup(v, g, `${path}.groups[${i}]`))
    .filter((g): g is SetupGroup => g !== undefined);
  const roles = v
    .list(o.roles, `${path}.roles`)
    .map((r, i) => validateRole(v, r, `${path}.roles[${i}]`))
    .filter((r): r is SetupRole => r !== undefined);
  return {
    path,
    accessKeys,
    policies,
    users,
    groups,
    roles,
    ...(id !== undefined ? { id } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(resourceGroupId !== undefined ? { resourceGroupId } : {}),
  };
}

/** Reports the second and later uses of one value, naming where it was first used. */
function noDuplicates<T>(
  v: Validator,
  items: readonly T[],
  keyOf: (t: T) => string | undefined,
  pathOf: (t: T) => string,
  what: string,
): void {
  const seen = new Map<string, string>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const first = seen.get(key);
    if (first !== undefined) v.fail(pathOf(item), `repeats ${what} ${quoted(key)} of ${first}`);
    else seen.set(key, pathOf(item));
  }
}

/** Checks a parsed file; throws SetupFileError listing every problem. */
export function validateSetup(value: unknown, source: string): Setup {
  const v = new Validator();
  let accounts: SetupAccount[] = [];
  const top = v.object(value, '(top level)', ['accounts']);
  if (top) {
    if (top.accounts === undefined) v.fail('accounts', 'is required (a list of accounts)');
    accounts = v
      .list(top.accounts, 'accounts')
      .map((a, i) => validateAccount(v, a, `accounts[${i}]`))
      .filter((a): a is SetupAccount => a !== undefined);
  }
  noDuplicates(
    v,
    accounts,
    (a) => a.id,
    (a) => `${a.path}.id`,
    'account id',
  );
  noDuplicates(
    v,
    accounts,
    (a) => a.name,
    (a) => `${a.path}.name`,
    'account name',
  );
  const allKeyIds: Array<{ id: string | undefined; path: string }> = [];
  for (const a of accounts) {
    noDuplicates(
      v,
      a.users,
      (u) => u.name,
      (u) => `${u.path}.name`,
      'user name',
    );
    noDuplicates(
      v,
      a.groups,
      (g) => g.name,
      (g) => `${g.path}.name`,
      'group name',
    );
    for (const g of a.groups)
      noDuplicates(
        v,
        g.users,
        (u) => u.name,
        (u) => u.path,
        'user',
      );
    noDuplicates(
      v,
      a.roles,
      (r) => r.name,
      (r) => `${r.path}.name`,
      'role name',
    );
    noDuplicates(
      v,
      a.policies,
      (p) => p.name,
      (p) => `${p.path}.name`,
      'policy name',
    );
    const refs = [
      ...a.users.flatMap((u) => u.policies),
      ...a.groups.flatMap((g) => g.policies),
      ...a.roles.flatMap((r) => r.policies),
    ];
    for (const ref of refs) {
      if (ref.type === 'System' && !SYSTEM_POLICIES.has(ref.name))
        v.fail(
          ref.path,
          `names no system policy: ${quoted(ref.name)} (known: ${[...SYSTEM_POLICIES.keys()].join(', ')})`,
        );
    }
    for (const k of [...a.accessKeys, ...a.users.flatMap((u) => u.accessKeys)])
      allKeyIds.push({ id: k.accessKeyId, path: `${k.path}.accessKeyId` });
    for (const c of a.roles.flatMap((r) => r.credentials))
      allKeyIds.push({ id: c.fixed?.accessKeyId, path: `${c.path}.accessKeyId` });
  }
  noDuplicates(
    v,
    allKeyIds,
    (k) => k.id,
    (k) => k.path,
    'AccessKey id',
  );
  if (v.problems.length > 0) throw new SetupFileError(source, v.problems);
  return { accounts };
}

/**
 * The YAML reader, loaded with the first set-up file read: most servers start without one, and
 * would otherwise carry its modules in their heap for nothing.
 */
function yamlReader(): typeof Yaml {
  return createRequire(import.meta.url)('yaml') as typeof Yaml;
}

/** Reads and checks a set-up file: `.json` is JSON, anything else YAML (which includes JSON). */
export function loadSetupFile(path: string): Setup {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SetupFileError(path, [`cannot be read: ${e instanceof Error ? e.message : String(e)}`]);
  }
  // An editor's byte-order mark is not part of the document.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const { parseDocument } = yamlReader();
  let value: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      // Where, not what: the parser quotes the text around the fault, which may be a secret.
      throw new SetupFileError(path, [`is not valid JSON${jsonFaultAt(text, e)}`]);
    }
    // JSON.parse keeps the last of a key given twice in one object, silently: a second secret or
    // status further down would win unseen. The YAML reader (JSON is YAML) finds them.
    const twice = parseDocument(text).errors.filter((e) => e.code === 'DUPLICATE_KEY');
    if (twice.length > 0)
      throw new SetupFileError(
        path,
        twice.map(
          (e) => `gives a key twice in one object${/ at line \d+, column \d+/.exec(e.message)?.[0] ?? ''}`,
        ),
      );
  } else {
    // `<<: *anchor` merges a mapping, as YAML 1.1 tools (and most set-up files that share
    // settings) expect; without it `<<` would be read as a field name.
    const doc = parseDocument(text, { merge: true });
    if (doc.errors.length > 0)
      throw new SetupFileError(
        path,
        // The first line of a YAML error says what and where; the lines after it quote the file.
        doc.errors.map((e) => `is not valid YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`),
      );
    try {
      // An anchor shared by many users' policy lists is ordinary; the default bound (100) is not.
      value = doc.toJS({ maxAliasCount: YAML_MAX_ALIASES });
    } catch (e) {
      throw new SetupFileError(path, [`is not valid YAML: ${e instanceof Error ? e.message : String(e)}`]);
    }
  }
  return validateSetup(value, path);
}

/** How many times the aliases of a YAML set-up file may be expanded in all. */
const YAML_MAX_ALIASES = 10_000;

/** ` at line L, column C` of a JSON.parse failure, when its message gives a position. */
function jsonFaultAt(text: string, e: unknown): string {
  const message = e instanceof Error ? e.message : '';
  const at = /end of JSON input/.test(message)
    ? text.length
    : Number(/position (\d+)/.exec(message)?.[1] ?? -1);
  if (at < 0) return '';
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

// ---- applying --------------------------------------------------------------------------------

/** Credentials the file asked to be generated, reported once, when they are made. */
export interface GeneratedCredentials {
  readonly path: string;
  readonly accountId: string;
  readonly principal: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  readonly expiration?: string;
}

export interface ApplyResult {
  /** The file defines at least one AccessKey or temporary credential. */
  readonly definesCredentials: boolean;
  readonly generated: readonly GeneratedCredentials[];
  readonly changes: KeyChanges;
  /** The accounts of the file, in its order (the first is a server's default account). */
  readonly accountIds: readonly string[];
}

/** AccessKeys of the store that applying the file changed, by id. */
export interface KeyChanges {
  /** Inactive before, Active now. */
  readonly reenabled: string[];
  readonly secretReplaced: string[];
}

interface Ctx {
  readonly tx: Executor;
  readonly source: string;
  readonly now: number;
  readonly generated: GeneratedCredentials[];
  readonly changes: KeyChanges;
  /** The accounts of the file, in its order. */
  readonly accountIds: string[];
}

/** Runs a service call, turning its refusal into a problem at `path`. */
async function at<T>(ctx: Ctx, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AccountsError) throw new SetupFileError(ctx.source, [`${path}: ${e.message}`]);
    throw e;
  }
}

function fail(ctx: Ctx, path: string, problem: string): never {
  throw new SetupFileError(ctx.source, [`${path} ${problem}`]);
}

async function applyAccountRow(ctx: Ctx, a: SetupAccount): Promise<AccountRow> {
  const { tx } = ctx;
  let row: AccountRow | undefined;
  if (a.id !== undefined) {
    row = await findAccount(tx, a.id);
  } else if (a.name !== undefined) {
    const named = await findAccountsByName(tx, a.name);
    if (named.length > 1)
      fail(
        ctx,
        `${a.path}.name`,
        `${quoted(a.name)} is the name of ${named.length} accounts (${named.map((n) => n.id).join(', ')}): give the id`,
      );
    row = named[0];
  }
  if (!row) {
    return at(ctx, a.path, () =>
      createAccount(
        tx,
        {
          ...(a.id !== undefined ? { id: a.id } : {}),
          ...(a.name !== undefined ? { name: a.name } : {}),
          ...(a.resourceGroupId !== undefined ? { resourceGroupId: a.resourceGroupId } : {}),
        },
        ctx.now,
      ),
    );
  }
  const changes: { name?: string; default_resource_group_id?: string } = {};
  if (a.name !== undefined && a.name !== row.name) {
    const other = (await findAccountsByName(tx, a.name)).find((n) => n.id !== row.id);
    if (other) fail(ctx, `${a.path}.name`, `${quoted(a.name)} is the name of account ${other.id} already`);
    changes.name = a.name;
  }
  if (a.resourceGroupId !== undefined && a.resourceGroupId !== row.default_resource_group_id)
    changes.default_resource_group_id = a.resourceGroupId;
  await updateAccount(tx, row.id, changes);
  return { ...row, ...changes };
}

function ownerLabel(k: { account_id: string; user_name: string | null; role_name: string | null }): string {
  const who =
    k.role_name !== null
      ? `role ${k.role_name}`
      : k.user_name !== null
        ? `RAM user ${k.user_name}`
        : 'the root';
  return `${who} of account ${k.account_id}`;
}

/** Root keys (userName null) or one user's keys. */
async function applyKeys(
  ctx: Ctx,
  accountId: string,
  userName: string | null,
  keys: readonly SetupKey[],
): Promise<void> {
  const { tx } = ctx;
  const fixedIds = new Set<string>();
  const wanted = { account_id: accountId, user_name: userName, role_name: null };
  for (const k of keys) {
    if (k.accessKeyId === undefined || k.accessKeySecret === undefined) continue;
    fixedIds.add(k.accessKeyId);
    const existing = await findAccessKey(tx, k.accessKeyId);
    if (!existing) {
      await at(ctx, k.path, () =>
        createAccessKey(
          tx,
          {
            accountId,
            ...(userName !== null ? { userName } : {}),
            ...(k.accessKeyId !== undefined ? { accessKeyId: k.accessKeyId } : {}),
            ...(k.accessKeySecret !== undefined ? { accessKeySecret: k.accessKeySecret } : {}),
            status: k.status,
          },
          ctx.now,
        ),
      );
      continue;
    }
    if (
      existing.account_id !== accountId ||
      existing.user_name !== userName ||
      existing.role_name !== null ||
      existing.security_token !== null
    ) {
      fail(
        ctx,
        `${k.path}.accessKeyId`,
        `${k.accessKeyId} belongs to ${ownerLabel(existing)} already, not to ${ownerLabel(wanted)}`,
      );
    }
    await updateAccessKey(tx, k.accessKeyId, {
      ...(existing.secret !== k.accessKeySecret ? { secret: k.accessKeySecret } : {}),
      ...(existing.status !== k.status ? { status: k.status } : {}),
    });
    // Said at start: a key someone disabled (a leaked one, say) that the file turns on again, and
    // a secret the file replaces, which clients holding the old one then feel.
    if (existing.status !== 'Active' && k.status === 'Active') ctx.changes.reenabled.push(k.accessKeyId);
    if (existing.secret !== k.accessKeySecret) ctx.changes.secretReplaced.push(k.accessKeyId);
  }
  const generated = keys.filter((k) => k.accessKeyId === undefined);
  if (generated.length === 0) return;
  // Keys without fixed values are counted, not matched: the principal should hold that many
  // keys besides the fixed ones, so a restart does not add more.
  const held = (await listPrincipalKeys(tx, accountId, { userName, roleName: null })).filter(
    (k) => !fixedIds.has(k.access_key_id) && k.security_token === null,
  );
  for (const k of generated.slice(held.length)) {
    const key = await at(ctx, k.path, () =>
      createAccessKey(
        tx,
        { accountId, ...(userName !== null ? { userName } : {}), status: k.status },
        ctx.now,
      ),
    );
    ctx.generated.push({
      path: k.path,
      accountId,
      principal: userName === null ? 'root' : `user:${userName}`,
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
    });
  }
}

async function applyCredentials(ctx: Ctx, accountId: string, role: SetupRole): Promise<void> {
  const { tx, now } = ctx;
  const fixedIds = new Set<string>();
  const wanted = { account_id: accountId, user_name: null, role_name: role.name };
  for (const c of role.credentials) {
    if (!c.fixed) continue;
    const fixed = c.fixed;
    fixedIds.add(fixed.accessKeyId);
    const existing = await findAccessKey(tx, fixed.accessKeyId);
    if (!existing) {
      await at(ctx, c.path, () =>
        issueTemporaryCredentials(
          tx,
          {
            accountId,
            roleName: role.name,
            ...fixed,
            durationSeconds: c.durationSeconds,
            ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
            ...(c.sessionPolicy !== undefined ? { sessionPolicy: c.sessionPolicy } : {}),
            status: c.status,
          },
          now,
        ),
      );
      continue;
    }
    if (
      existing.account_id !== accountId ||
      existing.role_name !== role.name ||
      existing.security_token === null
    ) {
      fail(
        ctx,
        `${c.path}.accessKeyId`,
        `${fixed.accessKeyId} belongs to ${ownerLabel(existing)} already, not to ${ownerLabel(wanted)}`,
      );
    }
    // A relative lifetime starts when the credentials are first made; a restart does not renew it.
    await updateAccessKey(tx, fixed.accessKeyId, {
      ...(existing.secret !== fixed.accessKeySecret ? { secret: fixed.accessKeySecret } : {}),
      ...(existing.security_token !== fixed.securityToken ? { security_token: fixed.securityToken } : {}),
      ...(existing.status !== c.status ? { status: c.status } : {}),
      ...(c.expiresAt !== undefined && existing.expires_at !== c.expiresAt
        ? { expires_at: c.expiresAt }
        : {}),
      ...((c.sessionPolicy ?? null) !== existing.session_policy
        ? { session_policy: c.sessionPolicy ?? null }
        : {}),
    });
  }
  const generated = role.credentials.filter((c) => !c.fixed);
  if (generated.length === 0) return;
  // Counted like generated keys, but only credentials still valid count: once they expire, the
  // next start issues fresh ones. Except those made for an entry with a fixed expiration: fresh
  // ones would expire at that same moment, so they are issued once, even born expired.
  const fixedExpiries = new Set(generated.flatMap((c) => (c.expiresAt !== undefined ? [c.expiresAt] : [])));
  const held = (await listPrincipalKeys(tx, accountId, { userName: null, roleName: role.name })).filter(
    (k) =>
      !fixedIds.has(k.access_key_id) &&
      (k.expires_at === null || k.expires_at > now || fixedExpiries.has(k.expires_at)),
  );
  for (const c of generated.slice(held.length)) {
    const creds = await at(ctx, c.path, () =>
      issueTemporaryCredentials(
        tx,
        {
          accountId,
          roleName: role.name,
          durationSeconds: c.durationSeconds,
          ...(c.expiresAt !== undefined ? { expiresAt: c.expiresAt } : {}),
          ...(c.sessionPolicy !== undefined ? { sessionPolicy: c.sessionPolicy } : {}),
          status: c.status,
        },
        now,
      ),
    );
    ctx.generated.push({
      path: c.path,
      accountId,
      principal: `role:${role.name}`,
      accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.accessKeySecret,
      securityToken: creds.securityToken,
      expiration: creds.expiration,
    });
  }
}

async function applyPolicies(ctx: Ctx, accountId: string, policies: readonly SetupPolicy[]): Promise<void> {
  for (const p of policies) {
    const existing = await findPolicy(ctx.tx, accountId, p.name);
    if (!existing) {
      await at(ctx, p.path, () =>
        createPolicy(
          ctx.tx,
          {
            accountId,
            name: p.name,
            document: p.document,
            ...(p.description !== undefined ? { description: p.description } : {}),
          },
          ctx.now,
        ),
      );
      continue;
    }
    await updatePolicy(ctx.tx, accountId, p.name, {
      ...(existing.document !== p.document ? { document: p.document } : {}),
      ...(p.description !== undefined && existing.description !== p.description
        ? { description: p.description }
        : {}),
    });
  }
}

async function applyAttachments(
  ctx: Ctx,
  a: SetupAccount,
  accountId: string,
  principal: { type: 'User' | 'Group' | 'Role'; name: string },
  refs: readonly SetupPolicyRef[],
): Promise<void> {
  const defined = new Set(a.policies.map((p) => p.name));
  for (const ref of refs) {
    const policyType = ref.type ?? (defined.has(ref.name) ? 'Custom' : undefined);
    await at(ctx, ref.path, () =>
      attachPolicy(ctx.tx, {
        accountId,
        principal,
        policyName: ref.name,
        ...(policyType ? { policyType } : {}),
      }),
    );
  }
}

async function applyAccount(ctx: Ctx, a: SetupAccount): Promise<void> {
  const account = await applyAccountRow(ctx, a);
  ctx.accountIds.push(account.id);
  await applyPolicies(ctx, account.id, a.policies);
  await applyKeys(ctx, account.id, null, a.accessKeys);
  for (const u of a.users) {
    const user = await findRamUser(ctx.tx, account.id, u.name);
    if (!user) {
      await at(ctx, u.path, () =>
        createUser(
          ctx.tx,
          {
            accountId: account.id,
            name: u.name,
            ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
          },
          ctx.now,
        ),
      );
    } else if (u.displayName !== undefined && u.displayName !== user.display_name) {
      await updateRamUserDisplayName(ctx.tx, account.id, u.name, u.displayName);
    }
    await applyKeys(ctx, account.id, u.name, u.accessKeys);
    await applyAttachments(ctx, a, account.id, { type: 'User', name: u.name }, u.policies);
  }
  for (const g of a.groups) {
    const group = await findRamGroup(ctx.tx, account.id, g.name);
    if (!group) {
      await at(ctx, g.path, () =>
        createGroup(
          ctx.tx,
          {
            accountId: account.id,
            name: g.name,
            ...(g.comments !== undefined ? { comments: g.comments } : {}),
          },
          ctx.now,
        ),
      );
    } else if (g.comments !== undefined && g.comments !== group.comments) {
      await updateRamGroupComments(ctx.tx, account.id, g.name, g.comments);
    }
    for (const u of g.users)
      await at(ctx, u.path, () =>
        addUserToGroup(ctx.tx, { accountId: account.id, groupName: g.name, userName: u.name }, ctx.now),
      );
    await applyAttachments(ctx, a, account.id, { type: 'Group', name: g.name }, g.policies);
  }
  for (const r of a.roles) {
    await applyAttachments(ctx, a, account.id, { type: 'Role', name: r.name }, r.policies);
    await applyCredentials(ctx, account.id, r);
  }
}

/** Makes the store hold what the set-up says, in one transaction. */
export async function applySetup(
  store: Store,
  setup: Setup,
  source: string,
  now: number,
): Promise<ApplyResult> {
  const generated: GeneratedCredentials[] = [];
  const changes: KeyChanges = { reenabled: [], secretReplaced: [] };
  const accountIds: string[] = [];
  await newTransaction(store.db).execute(async (tx) => {
    // Nodes sharing one PostgreSQL database apply the same file at the same time on start.
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(727002)`.execute(tx);
    const ctx: Ctx = { tx, source, now, generated, changes, accountIds };
    for (const a of setup.accounts) await applyAccount(ctx, a);
  });
  return { definesCredentials: definesCredentials(setup), generated, changes, accountIds };
}

/** The AccessKey ids of the pairs a set-up gives whole (root and user keys). */
export function fixedKeyIds(setup: Setup | undefined): string[] {
  const ids: string[] = [];
  for (const a of setup?.accounts ?? [])
    for (const k of [...a.accessKeys, ...a.users.flatMap((u) => u.accessKeys)])
      if (k.accessKeyId !== undefined) ids.push(k.accessKeyId);
  return ids;
}

/** Whose key `accessKeyId` is in the set-up, when it is not an account's own: for a refusal. */
export function nonRootKeyOf(setup: Setup, accessKeyId: string): { userName: string | null } | undefined {
  for (const a of setup.accounts) {
    for (const u of a.users)
      if (u.accessKeys.some((k) => k.accessKeyId === accessKeyId)) return { userName: u.name };
    for (const r of a.roles)
      if (r.credentials.some((c) => c.fixed?.accessKeyId === accessKeyId)) return { userName: null };
  }
  return undefined;
}

/** The set-up gives at least one AccessKey or temporary credential. */
export function definesCredentials(setup: Setup): boolean {
  return setup.accounts.some(
    (a) =>
      a.accessKeys.length > 0 ||
      a.users.some((u) => u.accessKeys.length > 0) ||
      a.roles.some((r) => r.credentials.length > 0),
  );
}

/** Where generated secrets are shown: the terminal of whoever started the server, never the log. */
export type Reporter = (line: string) => void;

const toStderr: Reporter = (line) => {
  process.stderr.write(`${line}\n`);
};

export function describeGenerated(g: GeneratedCredentials): string {
  const lines = [
    `  set-up ${g.path}: generated credentials for ${g.principal} of account ${g.accountId} (shown once)`,
    `    AccessKey id:     ${g.accessKeyId}`,
    `    AccessKey secret: ${g.accessKeySecret}`,
  ];
  if (g.securityToken !== undefined) lines.push(`    SecurityToken:    ${g.securityToken}`);
  if (g.expiration !== undefined) lines.push(`    Expiration:       ${g.expiration}`);
  return lines.join('\n');
}

/**
 * Loads (unless given it already loaded), checks and applies a set-up file (`serve --config`). `definesCredentials` is what lets
 * serve listen beyond loopback without generated defaults.
 */
export async function applySetupFile(
  store: Store,
  path: string,
  now: number,
  report: Reporter = toStderr,
  setup: Setup = loadSetupFile(path),
): Promise<{
  definesCredentials: boolean;
  accounts: number;
  generated: number;
  changes: KeyChanges;
  firstAccountId: string | undefined;
}> {
  const result = await applySetup(store, setup, path, now);
  for (const g of result.generated) report(describeGenerated(g));
  return {
    definesCredentials: result.definesCredentials,
    accounts: setup.accounts.length,
    generated: result.generated.length,
    changes: result.changes,
    firstAccountId: result.accountIds[0],
  };
}
