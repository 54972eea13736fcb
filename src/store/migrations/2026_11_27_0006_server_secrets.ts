/**
 * Secrets of the deployment, shared by every node of the database and kept across restarts. The
 * first is the key that seals List NextTokens (src/api/page-tokens.ts): a token carries a position
 * in a sequence all accounts share, which no account may read.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';

export const serverSecrets = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('server_secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db
      .insertInto('server_secrets' as never)
      .values({ name: 'page_token_key', value: randomBytes(32).toString('hex') } as never)
      .execute();
  },
};
