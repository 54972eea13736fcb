/** Secrets of the deployment (migration 0006), read by name. */
import type { Executor } from './database.js';

export async function readSecret(db: Executor, name: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('server_secrets')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.value;
}
