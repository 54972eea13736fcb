/**
 * RAM management storage: accounts, RAM users, AccessKeys, custom policies and attachments.
 * Plain functions over an Executor; the rules (names, formats, who owns what) live in
 * src/accounts/accounts.service.ts. The request path reads these tables through
 * credentials.repo.ts and auth/authorize.ts, never through a cache, so writes made here by a
 * management command apply to a running server at once.
 */
import type {
  AccessKeysTable,
  AccountsTable,
  Executor,
  PoliciesTable,
  PolicyAttachmentsTable,
  RamGroupMembersTable,
  RamGroupsTable,
  RamUsersTable,
} from './database.js';

export type RamUserRow = RamUsersTable;
export type RamGroupRow = RamGroupsTable;
export type GroupMemberRow = RamGroupMembersTable;
export type PolicyRow = PoliciesTable;
export type AttachmentRow = PolicyAttachmentsTable;

export async function findAccountsByName(db: Executor, name: string): Promise<AccountsTable[]> {
  return db.selectFrom('accounts').selectAll().where('name', '=', name).orderBy('created_at').execute();
}

export async function updateAccount(
  db: Executor,
  id: string,
  changes: Partial<Pick<AccountsTable, 'name' | 'default_resource_group_id'>>,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('accounts').set(changes).where('id', '=', id).execute();
}

export async function findRamUser(
  db: Executor,
  accountId: string,
  userName: string,
): Promise<RamUserRow | undefined> {
  return db
    .selectFrom('ram_users')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('user_name', '=', userName)
    .executeTakeFirst();
}

export async function insertRamUser(db: Executor, row: RamUserRow): Promise<void> {
  await db.insertInto('ram_users').values(row).execute();
}

export async function updateRamUserDisplayName(
  db: Executor,
  accountId: string,
  userName: string,
  displayName: string,
): Promise<void> {
  await db
    .updateTable('ram_users')
    .set({ display_name: displayName })
    .where('account_id', '=', accountId)
    .where('user_name', '=', userName)
    .execute();
}

export async function listRamUsers(db: Executor, accountId?: string): Promise<RamUserRow[]> {
  let q = db.selectFrom('ram_users').selectAll();
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.orderBy('account_id').orderBy('created_at').orderBy('user_name').execute();
}

export async function findRamGroup(
  db: Executor,
  accountId: string,
  groupName: string,
): Promise<RamGroupRow | undefined> {
  return db
    .selectFrom('ram_groups')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('group_name', '=', groupName)
    .executeTakeFirst();
}

export async function insertRamGroup(db: Executor, row: RamGroupRow): Promise<void> {
  await db.insertInto('ram_groups').values(row).execute();
}

export async function updateRamGroupComments(
  db: Executor,
  accountId: string,
  groupName: string,
  comments: string,
): Promise<void> {
  await db
    .updateTable('ram_groups')
    .set({ comments })
    .where('account_id', '=', accountId)
    .where('group_name', '=', groupName)
    .execute();
}

export async function listRamGroups(db: Executor, accountId?: string): Promise<RamGroupRow[]> {
  let q = db.selectFrom('ram_groups').selectAll();
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.orderBy('account_id').orderBy('created_at').orderBy('group_name').execute();
}

/** Adds a user to a group; false when it was a member already. */
export async function insertGroupMember(db: Executor, row: GroupMemberRow): Promise<boolean> {
  const r = await db
    .insertInto('ram_group_members')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/** Takes a user out of a group; false when it was not a member. */
export async function deleteGroupMember(
  db: Executor,
  accountId: string,
  groupName: string,
  userName: string,
): Promise<boolean> {
  const r = await db
    .deleteFrom('ram_group_members')
    .where('account_id', '=', accountId)
    .where('group_name', '=', groupName)
    .where('user_name', '=', userName)
    .executeTakeFirst();
  return r.numDeletedRows > 0n;
}

export async function listGroupMembers(db: Executor, accountId?: string): Promise<GroupMemberRow[]> {
  let q = db.selectFrom('ram_group_members').selectAll();
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.orderBy('account_id').orderBy('group_name').orderBy('created_at').orderBy('user_name').execute();
}

export interface KeyFilter {
  readonly accountId?: string;
  readonly userName?: string;
  readonly roleName?: string;
}

export async function listAccessKeys(db: Executor, filter: KeyFilter = {}): Promise<AccessKeysTable[]> {
  let q = db.selectFrom('access_keys').selectAll();
  if (filter.accountId !== undefined) q = q.where('account_id', '=', filter.accountId);
  if (filter.userName !== undefined) q = q.where('user_name', '=', filter.userName);
  if (filter.roleName !== undefined) q = q.where('role_name', '=', filter.roleName);
  return q.orderBy('account_id').orderBy('created_at').orderBy('access_key_id').execute();
}

/** The keys one principal holds: root (no user, no role), one user's, or one role's. */
export async function listPrincipalKeys(
  db: Executor,
  accountId: string,
  principal: { userName: string | null; roleName: string | null },
): Promise<AccessKeysTable[]> {
  return db
    .selectFrom('access_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('user_name', principal.userName === null ? 'is' : '=', principal.userName)
    .where('role_name', principal.roleName === null ? 'is' : '=', principal.roleName)
    .orderBy('created_at')
    .execute();
}

export async function updateAccessKey(
  db: Executor,
  accessKeyId: string,
  changes: Partial<
    Pick<AccessKeysTable, 'secret' | 'status' | 'security_token' | 'expires_at' | 'session_policy'>
  >,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('access_keys').set(changes).where('access_key_id', '=', accessKeyId).execute();
}

export async function findPolicy(
  db: Executor,
  accountId: string,
  policyName: string,
): Promise<PolicyRow | undefined> {
  return db
    .selectFrom('policies')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('policy_name', '=', policyName)
    .executeTakeFirst();
}

export async function insertPolicy(db: Executor, row: PolicyRow): Promise<void> {
  await db.insertInto('policies').values(row).execute();
}

export async function updatePolicy(
  db: Executor,
  accountId: string,
  policyName: string,
  changes: Partial<Pick<PolicyRow, 'document' | 'description'>>,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db
    .updateTable('policies')
    .set(changes)
    .where('account_id', '=', accountId)
    .where('policy_name', '=', policyName)
    .execute();
}

export async function listPolicies(db: Executor, accountId?: string): Promise<PolicyRow[]> {
  let q = db.selectFrom('policies').selectAll();
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.orderBy('account_id').orderBy('created_at').orderBy('policy_name').execute();
}

/** Adds an attachment; false when it was there already. */
export async function insertAttachment(db: Executor, row: AttachmentRow): Promise<boolean> {
  const r = await db
    .insertInto('policy_attachments')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/** Removes an attachment; false when there was none. */
export async function deleteAttachment(db: Executor, row: AttachmentRow): Promise<boolean> {
  const r = await db
    .deleteFrom('policy_attachments')
    .where('account_id', '=', row.account_id)
    .where('principal_type', '=', row.principal_type)
    .where('principal_name', '=', row.principal_name)
    .where('policy_type', '=', row.policy_type)
    .where('policy_name', '=', row.policy_name)
    .executeTakeFirst();
  return r.numDeletedRows > 0n;
}

export async function listAttachments(db: Executor, accountId?: string): Promise<AttachmentRow[]> {
  let q = db.selectFrom('policy_attachments').selectAll();
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q
    .orderBy('account_id')
    .orderBy('principal_type')
    .orderBy('principal_name')
    .orderBy('policy_type')
    .orderBy('policy_name')
    .execute();
}
