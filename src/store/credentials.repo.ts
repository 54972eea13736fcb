/**
 * Accounts and AccessKeys. Reads on the request path are single indexed lookups; nothing is
 * cached in-process so that a key disabled through any node is refused by every node at once.
 */
import type { AccessKeysTable, AccountsTable, Executor } from './database.js';

export type AccessKeyRow = AccessKeysTable;
export type AccountRow = AccountsTable;

export async function findAccessKey(db: Executor, accessKeyId: string): Promise<AccessKeyRow | undefined> {
  return db.selectFrom('access_keys').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
}

export async function findAccount(db: Executor, accountId: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
}

export async function listAccounts(db: Executor): Promise<AccountRow[]> {
  return db.selectFrom('accounts').selectAll().orderBy('created_at').execute();
}

export async function insertAccount(db: Executor, row: AccountRow): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

export async function insertAccessKey(db: Executor, row: AccessKeyRow): Promise<void> {
  await db.insertInto('access_keys').values(row).execute();
}

export async function setAccessKeyStatus(
  db: Executor,
  accessKeyId: string,
  status: string,
): Promise<boolean> {
  const r = await db
    .updateTable('access_keys')
    .set({ status })
    .where('access_key_id', '=', accessKeyId)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
