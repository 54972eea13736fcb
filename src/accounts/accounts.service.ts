/**
 * RAM management: accounts, RAM users, AccessKeys, temporary credentials, custom policies and
 * their attachments. Used by the `vpcmirror account|user|key|sts|policy` commands, by the set-up
 * file and by tests; never by the RPC pipeline, which only reads what these functions write.
 * Every rule a management call must respect (name formats, existence, ownership) is checked here,
 * and a refusal is an AccountsError whose message says what is wrong in words a person can act on.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import {
  newAccessKeyId,
  newAccessKeySecret,
  newAccountId,
  newRamUserId,
  newResourceId,
  randomString,
} from '../ids.js';
import { PolicyDocumentError, parsePolicyDocument } from '../policy/document.js';
import { SYSTEM_POLICIES } from '../policy/system-policies.js';
import {
  type AttachmentRow,
  deleteAttachment,
  deleteGroupMember,
  findAccountsByName,
  findPolicy,
  findRamGroup,
  findRamUser,
  insertAttachment,
  insertGroupMember,
  insertPolicy,
  insertRamGroup,
  insertRamUser,
  listAccessKeys,
  listAttachments,
  listGroupMembers,
  listPolicies,
  listRamGroups,
  listRamUsers,
  type PolicyRow,
  type RamGroupRow,
  type RamUserRow,
} from '../store/accounts.repo.js';
import {
  type AccessKeyRow,
  type AccountRow,
  findAccessKey,
  findAccount,
  insertAccessKey,
  insertAccount,
  listAccounts,
  setAccessKeyStatus,
} from '../store/credentials.repo.js';
import { type Executor, newTransaction } from '../store/database.js';
import { dialectOf } from '../store/dialect.js';
import { isUniqueViolation } from '../store/errors.js';

export class AccountsError extends Error {
  override name = 'AccountsError';
}

export type PrincipalKind = 'User' | 'Role' | 'Group';
export type PolicyType = 'System' | 'Custom';
export type KeyStatus = 'Active' | 'Inactive';

export interface PrincipalRef {
  readonly type: PrincipalKind;
  readonly name: string;
}

// ---- formats -------------------------------------------------------------------------------
// Each check returns what is wrong (to be prefixed with the value's name) or undefined.

export type Check = (value: string) => string | undefined;

const ACCOUNT_ID = /^[1-9]\d{15}$/;
const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const POLICY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** The same form the API accepts for ResourceGroupId (vpc/traffic-mirror/common.ts). */
const RESOURCE_GROUP = /^rg-[a-z0-9]{5,40}$/;
const ACCESS_KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/;
const PRINTABLE = /^[\x21-\x7e]+$/;
/** The prefix authenticate.ts uses to tell a wrong token of ours from a token that is not ours. */
export const SECURITY_TOKEN_PREFIX = 'vmst.';
export const TEMPORARY_KEY_PREFIX = 'STS.';
/** AssumeRole allows up to 12 hours; shorter than its 15-minute floor is allowed here for tests. */
export const MAX_DURATION_SECONDS = 43_200;
export const DEFAULT_DURATION_SECONDS = 3600;

/** Users, roles and groups are named alike. */
function principalName(v: string): string | undefined {
  return PRINCIPAL_NAME.test(v) ? undefined : 'must be 1-64 characters: letters, digits, ".", "_" or "-"';
}

export const checks = {
  accountId: (v) => (ACCOUNT_ID.test(v) ? undefined : 'must be 16 digits, not starting with 0'),
  accountName: (v) =>
    v.length >= 1 && v.length <= 64 && !/\p{Cc}/u.test(v)
      ? undefined
      : 'must be 1-64 characters without control characters',
  userName: principalName,
  roleName: principalName,
  groupName: principalName,
  groupComments: (v) =>
    v.length <= 128 && !/\p{Cc}/u.test(v)
      ? undefined
      : 'must be at most 128 characters without control characters',
  displayName: (v) =>
    v.length >= 1 && v.length <= 128 && !/\p{Cc}/u.test(v)
      ? undefined
      : 'must be 1-128 characters without control characters',
  policyName: (v) =>
    !POLICY_NAME.test(v)
      ? 'must be 1-128 characters: letters, digits, ".", "_" or "-"'
      : SYSTEM_POLICIES.has(v)
        ? 'is the name of a system policy; choose another name for a custom policy'
        : undefined,
  description: (v) => (v.length <= 1024 ? undefined : 'must be at most 1024 characters'),
  resourceGroupId: (v) =>
    RESOURCE_GROUP.test(v) ? undefined : 'must be "rg-" followed by 5-40 lower-case letters or digits',
  accessKeyId: (v) =>
    !ACCESS_KEY_ID.test(v)
      ? 'must be 3-128 characters: letters, digits, ".", "_" or "-"'
      : v.startsWith(TEMPORARY_KEY_PREFIX)
        ? `must not start with "${TEMPORARY_KEY_PREFIX}", which marks temporary credentials`
        : undefined,
  temporaryAccessKeyId: (v) =>
    !ACCESS_KEY_ID.test(v)
      ? 'must be 3-128 characters: letters, digits, ".", "_" or "-"'
      : v.startsWith(TEMPORARY_KEY_PREFIX) && v.length > TEMPORARY_KEY_PREFIX.length
        ? undefined
        : `must start with "${TEMPORARY_KEY_PREFIX}", like the temporary credentials STS issues`,
  accessKeySecret: (v) =>
    v.length >= 1 && v.length <= 256 && PRINTABLE.test(v)
      ? undefined
      : 'must be 1-256 printable ASCII characters without spaces',
  securityToken: (v) =>
    !(v.length <= 4096 && PRINTABLE.test(v))
      ? 'must be at most 4096 printable ASCII characters without spaces'
      : v.startsWith(SECURITY_TOKEN_PREFIX) && v.length > SECURITY_TOKEN_PREFIX.length
        ? undefined
        : `must start with "${SECURITY_TOKEN_PREFIX}", the prefix of the tokens this server issues`,
  keyStatus: (v) => (v === 'Active' || v === 'Inactive' ? undefined : 'must be "Active" or "Inactive"'),
  policyType: (v) => (v === 'System' || v === 'Custom' ? undefined : 'must be "System" or "Custom"'),
} satisfies Record<string, Check>;

/** Enough of a value to recognise it by; a message stays one line however long the value. */
const QUOTED_AT_MOST = 80;

/**
 * A value as a message repeats it: in JSON quotes, and cut short when long, so that a refused
 * megabyte-long name is not printed back whole.
 */
export function quoted(value: string): string {
  if (value.length <= QUOTED_AT_MOST) return JSON.stringify(value);
  // Cut and counted in UTF-16 units, as lengths are (docs/fidelity.md), but not inside a pair.
  const last = value.charCodeAt(QUOTED_AT_MOST - 1);
  const head = value.slice(0, last >= 0xd800 && last <= 0xdbff ? QUOTED_AT_MOST - 1 : QUOTED_AT_MOST);
  return `${JSON.stringify(head).slice(0, -1)}…" (${value.length.toLocaleString('en-US')} characters)`;
}

function check(what: string, value: string, test: Check): void {
  const problem = test(value);
  if (problem !== undefined) throw new AccountsError(`${what} ${quoted(value)} ${problem}`);
}

export function checkDuration(seconds: number): string | undefined {
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_DURATION_SECONDS
    ? undefined
    : `must be a whole number of seconds from 1 to ${MAX_DURATION_SECONDS}`;
}

/**
 * The most characters of a policy document as stored: RAM's custom policies take up to 6,144, and
 * STS's session policies (AssumeRole `Policy`) up to 2,048.
 */
export const POLICY_DOCUMENT_LIMITS = { policy: 6_144, session: 2_048 } as const;

/**
 * Validates a policy document (JSON text or a parsed value) and returns the JSON text to store.
 * Text is kept as written, so that `policy list --json` shows what the author wrote.
 */
export function policyDocumentText(document: unknown, kind: keyof typeof POLICY_DOCUMENT_LIMITS): string {
  try {
    parsePolicyDocument(document);
  } catch (e) {
    if (e instanceof PolicyDocumentError) throw new AccountsError(`invalid policy document: ${e.message}`);
    throw e;
  }
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  const limit = POLICY_DOCUMENT_LIMITS[kind];
  // Counted in UTF-16 units, as the API's own lengths are (docs/fidelity.md).
  const characters = text.length;
  if (characters > limit)
    throw new AccountsError(
      `invalid policy document: ${characters.toLocaleString('en-US')} characters, more than the ${limit.toLocaleString('en-US')} a ${kind === 'policy' ? 'policy' : 'session policy'} may have`,
    );
  return text;
}

/** Runs `fn` in the caller's transaction, or in a new one. */
export async function inTransaction<T>(db: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  return newTransaction(db).execute(fn);
}

// ---- accounts ------------------------------------------------------------------------------

export async function requireAccount(db: Executor, accountId: string): Promise<AccountRow> {
  const account = await findAccount(db, accountId);
  if (!account)
    throw new AccountsError(
      `there is no account ${ACCOUNT_ID.test(accountId) ? accountId : quoted(accountId)} (\`vpcmirror account list\` shows them)`,
    );
  return account;
}

export interface NewAccount {
  readonly id?: string;
  readonly name?: string;
  readonly resourceGroupId?: string;
}

/** The PostgreSQL advisory lock that account creations take in turn (see createAccount). */
const ACCOUNT_NAMES_LOCK = 727003;

export async function createAccount(db: Executor, input: NewAccount, now: number): Promise<AccountRow> {
  if (input.id !== undefined) check('account id', input.id, checks.accountId);
  if (input.name !== undefined) check('account name', input.name, checks.accountName);
  if (input.resourceGroupId !== undefined)
    check('resource group id', input.resourceGroupId, checks.resourceGroupId);
  const id = input.id ?? newAccountId();
  // Names are unique by this check, not by an index: on PostgreSQL, accounts made at the same
  // moment (two commands, two nodes applying a set-up file) take their turn for it. SQLite's
  // writers take theirs already.
  if (dialectOf(db) === 'postgres' && db.isTransaction)
    await sql`select pg_advisory_xact_lock(${ACCOUNT_NAMES_LOCK})`.execute(db);
  if (await findAccount(db, id)) throw new AccountsError(`account ${id} already exists`);
  if (input.name !== undefined) {
    const [same] = await findAccountsByName(db, input.name);
    if (same) throw new AccountsError(`an account named ${quoted(input.name)} exists already: ${same.id}`);
  }
  const row: AccountRow = {
    id,
    name: input.name ?? id,
    default_resource_group_id: input.resourceGroupId ?? newResourceId('ResourceGroup'),
    created_at: now,
  };
  try {
    await insertAccount(db, row);
  } catch (e) {
    if (isUniqueViolation(e)) throw new AccountsError(`account ${id} already exists`);
    throw e;
  }
  return row;
}

// ---- RAM users -----------------------------------------------------------------------------

export async function requireUser(db: Executor, accountId: string, userName: string): Promise<RamUserRow> {
  const user = await findRamUser(db, accountId, userName);
  if (!user)
    throw new AccountsError(
      `account ${accountId} has no RAM user ${quoted(userName)} (create it with \`vpcmirror user create\`)`,
    );
  return user;
}

export interface NewUser {
  readonly accountId: string;
  readonly name: string;
  readonly displayName?: string;
}

export async function createUser(db: Executor, input: NewUser, now: number): Promise<RamUserRow> {
  check('user name', input.name, checks.userName);
  if (input.displayName !== undefined) check('display name', input.displayName, checks.displayName);
  await requireAccount(db, input.accountId);
  const exists = () =>
    new AccountsError(`account ${input.accountId} already has a RAM user ${quoted(input.name)}`);
  if (await findRamUser(db, input.accountId, input.name)) throw exists();
  const row: RamUserRow = {
    account_id: input.accountId,
    user_name: input.name,
    user_id: newRamUserId(),
    display_name: input.displayName ?? input.name,
    created_at: now,
  };
  try {
    await insertRamUser(db, row);
  } catch (e) {
    if (isUniqueViolation(e)) throw exists();
    throw e;
  }
  return row;
}

// ---- RAM user groups -----------------------------------------------------------------------
// A user holds, besides its own policies, those of every group it belongs to (protocol.md 11).

export async function requireGroup(db: Executor, accountId: string, groupName: string): Promise<RamGroupRow> {
  const group = await findRamGroup(db, accountId, groupName);
  if (!group)
    throw new AccountsError(
      `account ${accountId} has no RAM user group ${quoted(groupName)} (create it with \`vpcmirror group create\`)`,
    );
  return group;
}

export interface NewGroup {
  readonly accountId: string;
  readonly name: string;
  readonly comments?: string;
}

export async function createGroup(db: Executor, input: NewGroup, now: number): Promise<RamGroupRow> {
  check('group name', input.name, checks.groupName);
  if (input.comments !== undefined) check('comments', input.comments, checks.groupComments);
  await requireAccount(db, input.accountId);
  const exists = () =>
    new AccountsError(`account ${input.accountId} already has a RAM user group ${quoted(input.name)}`);
  if (await findRamGroup(db, input.accountId, input.name)) throw exists();
  const row: RamGroupRow = {
    account_id: input.accountId,
    group_name: input.name,
    comments: input.comments ?? '',
    created_at: now,
  };
  try {
    await insertRamGroup(db, row);
  } catch (e) {
    if (isUniqueViolation(e)) throw exists();
    throw e;
  }
  return row;
}

export interface Membership {
  readonly accountId: string;
  readonly groupName: string;
  readonly userName: string;
}

async function checkMembership(db: Executor, input: Membership): Promise<void> {
  check('group name', input.groupName, checks.groupName);
  check('user name', input.userName, checks.userName);
  await requireAccount(db, input.accountId);
  await requireGroup(db, input.accountId, input.groupName);
  await requireUser(db, input.accountId, input.userName);
}

/** Adds a user to a group; false when it was a member already (adding is idempotent). */
export async function addUserToGroup(db: Executor, input: Membership, now: number): Promise<boolean> {
  await checkMembership(db, input);
  return insertGroupMember(db, {
    account_id: input.accountId,
    group_name: input.groupName,
    user_name: input.userName,
    created_at: now,
  });
}

export async function removeUserFromGroup(db: Executor, input: Membership): Promise<void> {
  await checkMembership(db, input);
  if (!(await deleteGroupMember(db, input.accountId, input.groupName, input.userName)))
    throw new AccountsError(
      `RAM user ${quoted(input.userName)} is not a member of group ${quoted(input.groupName)} of account ${input.accountId}`,
    );
}

// ---- AccessKeys ----------------------------------------------------------------------------

export interface NewAccessKey {
  readonly accountId: string;
  /** A RAM user's key; the account's own (root) key when absent. */
  readonly userName?: string;
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  readonly status?: KeyStatus;
}

export interface IssuedKey {
  readonly accountId: string;
  readonly userName: string | null;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly status: KeyStatus;
}

async function insertKey(db: Executor, row: AccessKeyRow): Promise<void> {
  const taken = () => new AccessKeysTaken(row.access_key_id);
  if (await findAccessKey(db, row.access_key_id)) throw taken();
  try {
    await insertAccessKey(db, row);
  } catch (e) {
    if (isUniqueViolation(e)) throw taken();
    throw e;
  }
}

class AccessKeysTaken extends AccountsError {
  constructor(id: string) {
    super(`AccessKey ${id} exists already`);
  }
}

export async function createAccessKey(db: Executor, input: NewAccessKey, now: number): Promise<IssuedKey> {
  if (input.accessKeyId !== undefined) check('AccessKey id', input.accessKeyId, checks.accessKeyId);
  if (input.accessKeySecret !== undefined) {
    const problem = checks.accessKeySecret(input.accessKeySecret);
    // The secret itself never goes into a message.
    if (problem !== undefined) throw new AccountsError(`the AccessKey secret ${problem}`);
  }
  await requireAccount(db, input.accountId);
  if (input.userName !== undefined) await requireUser(db, input.accountId, input.userName);
  const key: IssuedKey = {
    accountId: input.accountId,
    userName: input.userName ?? null,
    accessKeyId: input.accessKeyId ?? newAccessKeyId(),
    accessKeySecret: input.accessKeySecret ?? newAccessKeySecret(),
    status: input.status ?? 'Active',
  };
  await insertKey(db, {
    access_key_id: key.accessKeyId,
    secret: key.accessKeySecret,
    account_id: key.accountId,
    user_name: key.userName,
    role_name: null,
    status: key.status,
    security_token: null,
    expires_at: null,
    session_policy: null,
    created_at: now,
  });
  return key;
}

/** Enables or disables any AccessKey (root, RAM user or temporary); the next request sees it. */
export async function setAccessKeyEnabled(
  db: Executor,
  accessKeyId: string,
  enabled: boolean,
): Promise<AccessKeyRow> {
  const status: KeyStatus = enabled ? 'Active' : 'Inactive';
  if (!(await setAccessKeyStatus(db, accessKeyId, status)))
    throw new AccountsError(
      `there is no AccessKey ${quoted(accessKeyId)} (\`vpcmirror key list\` shows them)`,
    );
  const row = await findAccessKey(db, accessKeyId);
  if (!row) throw new AccountsError(`there is no AccessKey ${quoted(accessKeyId)}`);
  return row;
}

// ---- temporary credentials -----------------------------------------------------------------

export interface NewTemporaryCredentials {
  readonly accountId: string;
  readonly roleName: string;
  /** Lifetime from `now`; ignored when `expiresAt` is given. */
  readonly durationSeconds?: number;
  /** Absolute expiry (ms since the epoch), e.g. in the past to test expiry. */
  readonly expiresAt?: number;
  /** Session policy (JSON text or parsed): the credentials get the intersection with the role's. */
  readonly sessionPolicy?: unknown;
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  readonly securityToken?: string;
  readonly status?: KeyStatus;
}

/** The shape STS AssumeRole answers with (`Credentials`), plus who they act as. */
export interface TemporaryCredentials {
  readonly accountId: string;
  readonly roleName: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken: string;
  /** `2026-11-26T12:00:00Z` */
  readonly expiration: string;
  readonly expiresAt: number;
}

export function formatExpiration(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function newTemporaryAccessKeyId(): string {
  return `${TEMPORARY_KEY_PREFIX}${randomString('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 25)}`;
}

export function newSecurityToken(): string {
  return `${SECURITY_TOKEN_PREFIX}${randomBytes(96).toString('base64url')}`;
}

export async function issueTemporaryCredentials(
  db: Executor,
  input: NewTemporaryCredentials,
  now: number,
): Promise<TemporaryCredentials> {
  check('role name', input.roleName, checks.roleName);
  if (input.accessKeyId !== undefined) check('AccessKey id', input.accessKeyId, checks.temporaryAccessKeyId);
  if (input.accessKeySecret !== undefined) {
    const problem = checks.accessKeySecret(input.accessKeySecret);
    if (problem !== undefined) throw new AccountsError(`the AccessKey secret ${problem}`);
  }
  if (input.securityToken !== undefined) {
    const problem = checks.securityToken(input.securityToken);
    if (problem !== undefined) throw new AccountsError(`the security token ${problem}`);
  }
  const duration = input.durationSeconds ?? DEFAULT_DURATION_SECONDS;
  if (input.expiresAt === undefined) {
    const problem = checkDuration(duration);
    if (problem !== undefined) throw new AccountsError(`duration ${duration} ${problem}`);
  }
  const sessionPolicy =
    input.sessionPolicy === undefined ? null : policyDocumentText(input.sessionPolicy, 'session');
  await requireAccount(db, input.accountId);
  const expiresAt = input.expiresAt ?? now + duration * 1000;
  const creds: TemporaryCredentials = {
    accountId: input.accountId,
    roleName: input.roleName,
    accessKeyId: input.accessKeyId ?? newTemporaryAccessKeyId(),
    accessKeySecret:
      input.accessKeySecret ??
      randomString('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 44),
    securityToken: input.securityToken ?? newSecurityToken(),
    expiration: formatExpiration(expiresAt),
    expiresAt,
  };
  await insertKey(db, {
    access_key_id: creds.accessKeyId,
    secret: creds.accessKeySecret,
    account_id: creds.accountId,
    user_name: null,
    role_name: creds.roleName,
    status: input.status ?? 'Active',
    security_token: creds.securityToken,
    expires_at: expiresAt,
    session_policy: sessionPolicy,
    created_at: now,
  });
  return creds;
}

// ---- policies ------------------------------------------------------------------------------

export interface NewPolicy {
  readonly accountId: string;
  readonly name: string;
  /** JSON text or a parsed document. */
  readonly document: unknown;
  readonly description?: string;
}

export async function createPolicy(db: Executor, input: NewPolicy, now: number): Promise<PolicyRow> {
  check('policy name', input.name, checks.policyName);
  if (input.description !== undefined) check('description', input.description, checks.description);
  const document = policyDocumentText(input.document, 'policy');
  await requireAccount(db, input.accountId);
  const exists = () =>
    new AccountsError(`account ${input.accountId} already has a policy ${quoted(input.name)}`);
  if (await findPolicy(db, input.accountId, input.name)) throw exists();
  const row: PolicyRow = {
    account_id: input.accountId,
    policy_name: input.name,
    document,
    description: input.description ?? '',
    created_at: now,
  };
  try {
    await insertPolicy(db, row);
  } catch (e) {
    if (isUniqueViolation(e)) throw exists();
    throw e;
  }
  return row;
}

export interface Attachment {
  readonly accountId: string;
  readonly principal: PrincipalRef;
  readonly policyName: string;
  /** Inferred when absent: the account's custom policy of that name, else the system policy. */
  readonly policyType?: PolicyType;
}

/** Which policy a name means in an account, or an error listing what there is. */
export async function resolvePolicyType(
  db: Executor,
  accountId: string,
  policyName: string,
  policyType: PolicyType | undefined,
): Promise<PolicyType> {
  const systemNames = [...SYSTEM_POLICIES.keys()].join(', ');
  if (policyType === 'System') {
    if (!SYSTEM_POLICIES.has(policyName))
      throw new AccountsError(`there is no system policy ${quoted(policyName)} (known: ${systemNames})`);
    return 'System';
  }
  if (await findPolicy(db, accountId, policyName)) return 'Custom';
  if (policyType === undefined && SYSTEM_POLICIES.has(policyName)) return 'System';
  const custom = (await listPolicies(db, accountId)).map((p) => p.policy_name);
  throw new AccountsError(
    `account ${accountId} has no ${policyType === 'Custom' ? 'custom ' : ''}policy ${quoted(policyName)}` +
      ` (custom: ${custom.length > 0 ? custom.join(', ') : 'none'}; system: ${systemNames})`,
  );
}

export const PRINCIPAL_LABELS = { User: 'RAM user', Role: 'role', Group: 'RAM user group' } as const;

function principalLabel(p: PrincipalRef): string {
  return `${PRINCIPAL_LABELS[p.type]} ${quoted(p.name)}`;
}

async function attachmentRow(db: Executor, input: Attachment): Promise<AttachmentRow> {
  if (input.policyType !== undefined) check('policy type', input.policyType, checks.policyType);
  const { type, name } = input.principal;
  check(`${type.toLowerCase()} name`, name, principalName);
  await requireAccount(db, input.accountId);
  // A role exists once something names it; users and groups are made first.
  if (type === 'User') await requireUser(db, input.accountId, name);
  if (type === 'Group') await requireGroup(db, input.accountId, name);
  const policyType = await resolvePolicyType(db, input.accountId, input.policyName, input.policyType);
  return {
    account_id: input.accountId,
    principal_type: input.principal.type,
    principal_name: input.principal.name,
    policy_type: policyType,
    policy_name: input.policyName,
  };
}

export interface AttachResult {
  readonly policyType: PolicyType;
  /** False when the policy was attached already (attaching is idempotent). */
  readonly changed: boolean;
}

export async function attachPolicy(db: Executor, input: Attachment): Promise<AttachResult> {
  const row = await attachmentRow(db, input);
  const changed = await insertAttachment(db, row);
  return { policyType: row.policy_type as PolicyType, changed };
}

export async function detachPolicy(db: Executor, input: Attachment): Promise<AttachResult> {
  const row = await attachmentRow(db, input);
  if (!(await deleteAttachment(db, row))) {
    throw new AccountsError(
      `${row.policy_type} policy ${quoted(row.policy_name)} is not attached to ${principalLabel(input.principal)} of account ${input.accountId}`,
    );
  }
  return { policyType: row.policy_type as PolicyType, changed: true };
}

// ---- views ---------------------------------------------------------------------------------
// What the list commands show. Secrets never leave this module through a view.

export interface AccountView {
  readonly AccountId: string;
  readonly Name: string;
  readonly DefaultResourceGroupId: string;
  readonly Users: number;
  readonly AccessKeys: number;
  readonly CreateDate: string;
}

export interface UserView {
  readonly AccountId: string;
  readonly UserName: string;
  readonly UserId: string;
  readonly DisplayName: string;
  readonly Policies: string[];
  readonly Groups: string[];
  readonly AccessKeys: number;
  readonly CreateDate: string;
}

export interface KeyView {
  readonly AccessKeyId: string;
  readonly AccountId: string;
  /** `root`, `user:<name>` or `role:<name>`. */
  readonly Principal: string;
  readonly Type: 'Permanent' | 'Temporary';
  readonly Status: string;
  readonly Expiration: string | null;
  readonly Expired: boolean;
  readonly CreateDate: string;
}

export interface PolicyView {
  readonly AccountId: string;
  readonly PolicyName: string;
  readonly PolicyType: PolicyType;
  readonly Description: string;
  /** `user:<name>` / `role:<name>` / `group:<name>` */
  readonly AttachedTo: string[];
  readonly Document: unknown;
  readonly CreateDate: string | null;
}

export interface GroupView {
  readonly AccountId: string;
  readonly GroupName: string;
  readonly Comments: string;
  readonly Users: string[];
  readonly Policies: string[];
  readonly CreateDate: string;
}

function principalOf(type: string, name: string): string {
  return `${type.toLowerCase()}:${name}`;
}

export async function accountViews(db: Executor): Promise<AccountView[]> {
  const [accounts, users, keys] = await Promise.all([listAccounts(db), listRamUsers(db), listAccessKeys(db)]);
  return accounts.map((a) => ({
    AccountId: a.id,
    Name: a.name,
    DefaultResourceGroupId: a.default_resource_group_id,
    Users: users.filter((u) => u.account_id === a.id).length,
    AccessKeys: keys.filter((k) => k.account_id === a.id).length,
    CreateDate: formatExpiration(a.created_at),
  }));
}

export async function userViews(db: Executor, accountId?: string): Promise<UserView[]> {
  if (accountId !== undefined) await requireAccount(db, accountId);
  const filter = accountId === undefined ? {} : { accountId };
  const [users, attachments, keys, members] = await Promise.all([
    listRamUsers(db, accountId),
    listAttachments(db, accountId),
    listAccessKeys(db, filter),
    listGroupMembers(db, accountId),
  ]);
  return users.map((u) => ({
    AccountId: u.account_id,
    UserName: u.user_name,
    UserId: u.user_id,
    DisplayName: u.display_name,
    Policies: attachments
      .filter(
        (a) =>
          a.account_id === u.account_id && a.principal_type === 'User' && a.principal_name === u.user_name,
      )
      .map((a) => a.policy_name),
    Groups: members
      .filter((m) => m.account_id === u.account_id && m.user_name === u.user_name)
      .map((m) => m.group_name),
    AccessKeys: keys.filter((k) => k.account_id === u.account_id && k.user_name === u.user_name).length,
    CreateDate: formatExpiration(u.created_at),
  }));
}

export async function groupViews(db: Executor, accountId?: string): Promise<GroupView[]> {
  if (accountId !== undefined) await requireAccount(db, accountId);
  const [groups, members, attachments] = await Promise.all([
    listRamGroups(db, accountId),
    listGroupMembers(db, accountId),
    listAttachments(db, accountId),
  ]);
  return groups.map((g) => ({
    AccountId: g.account_id,
    GroupName: g.group_name,
    Comments: g.comments,
    Users: members
      .filter((m) => m.account_id === g.account_id && m.group_name === g.group_name)
      .map((m) => m.user_name),
    Policies: attachments
      .filter(
        (a) =>
          a.account_id === g.account_id && a.principal_type === 'Group' && a.principal_name === g.group_name,
      )
      .map((a) => a.policy_name),
    CreateDate: formatExpiration(g.created_at),
  }));
}

export async function keyViews(
  db: Executor,
  filter: { accountId?: string; userName?: string; roleName?: string },
  now: number,
): Promise<KeyView[]> {
  if (filter.accountId !== undefined) await requireAccount(db, filter.accountId);
  const keys = await listAccessKeys(db, filter);
  return keys.map((k) => ({
    AccessKeyId: k.access_key_id,
    AccountId: k.account_id,
    Principal:
      k.role_name !== null ? `role:${k.role_name}` : k.user_name !== null ? `user:${k.user_name}` : 'root',
    Type: k.security_token !== null ? 'Temporary' : 'Permanent',
    Status: k.status,
    Expiration: k.expires_at === null ? null : formatExpiration(k.expires_at),
    Expired: k.expires_at !== null && k.expires_at <= now,
    CreateDate: formatExpiration(k.created_at),
  }));
}

/**
 * Custom policies with where they are attached, and the system policies: all of them when one
 * account is asked for, otherwise only where attached.
 */
export async function policyViews(db: Executor, accountId?: string): Promise<PolicyView[]> {
  const accounts = accountId !== undefined ? [await requireAccount(db, accountId)] : await listAccounts(db);
  const [policies, attachments] = await Promise.all([
    listPolicies(db, accountId),
    listAttachments(db, accountId),
  ]);
  const attachedTo = (account: string, type: PolicyType, name: string) =>
    attachments
      .filter((a) => a.account_id === account && a.policy_type === type && a.policy_name === name)
      .map((a) => principalOf(a.principal_type, a.principal_name));
  const out: PolicyView[] = [];
  for (const account of accounts) {
    for (const p of policies.filter((x) => x.account_id === account.id)) {
      out.push({
        AccountId: account.id,
        PolicyName: p.policy_name,
        PolicyType: 'Custom',
        Description: p.description,
        AttachedTo: attachedTo(account.id, 'Custom', p.policy_name),
        Document: JSON.parse(p.document) as unknown,
        CreateDate: formatExpiration(p.created_at),
      });
    }
    for (const name of SYSTEM_POLICIES.keys()) {
      const where = attachedTo(account.id, 'System', name);
      if (accountId === undefined && where.length === 0) continue;
      out.push({
        AccountId: account.id,
        PolicyName: name,
        PolicyType: 'System',
        Description: SYSTEM_POLICY_DESCRIPTIONS[name] ?? '',
        AttachedTo: where,
        Document: null,
        CreateDate: null,
      });
    }
  }
  return out;
}

const SYSTEM_POLICY_DESCRIPTIONS: Readonly<Record<string, string>> = {
  AliyunVPCFullAccess: 'Every VPC action on every resource (vpc:*)',
  AliyunVPCReadOnlyAccess: 'VPC Describe*, List* and Get* actions',
};
