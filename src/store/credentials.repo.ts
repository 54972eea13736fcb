/**
 * Accounts and AccessKeys. The request path reads keys through the credential cache
 * (auth/credential-cache.ts), which trusts a cached row only while the RAM generation that
 * triggers keep in change_counters has not moved.
 */
import type { AccessKeysTable, AccountsTable, Executor } from './database.js';
import { prepared } from './prepared.js';

export type AccessKeyRow = AccessKeysTable;
export type AccountRow = AccountsTable;

const accessKeyById = prepared((db, p: { id: string }) =>
  db.selectFrom('access_keys').selectAll().where('access_key_id', '=', p.id),
);

export function findAccessKey(db: Executor, accessKeyId: string): Promise<AccessKeyRow | undefined> {
  return accessKeyById.first(db, { id: accessKeyId });
}

const ramGeneration = prepared((db, _p: Record<string, never>) =>
  db.selectFrom('change_counters').select('value').where('name', '=', 'ram'),
);

/** Moves forward with every change to keys, users, policies or attachments (migration 0003). */
export async function readRamGeneration(db: Executor): Promise<number> {
  return Number((await ramGeneration.first(db, {}))?.value ?? 0);
}

export async function findAccount(db: Executor, accountId: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
}

export async function listAccounts(db: Executor): Promise<AccountRow[]> {
  // Accounts of one set-up file share a creation time: the id breaks the tie the same way on every node.
  return db.selectFrom('accounts').selectAll().orderBy('created_at').orderBy('id').execute();
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
