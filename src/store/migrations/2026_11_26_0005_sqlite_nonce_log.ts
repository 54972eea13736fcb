/**
 * On SQLite, used nonces move from a table keyed by (AccessKey, nonce) to a log keyed by expiry
 * first (nonce-log.ts): new nonces then land at the end of one index instead of on random pages
 * of two. PostgreSQL keeps its table, whose unique key nodes share.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

export function sqliteNonceLog(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'sqlite') return;
      await db.schema
        .createTable('nonce_log')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('access_key_id', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('nonce_log_pk', ['expires_at', 'access_key_id', 'nonce'])
        .modifyEnd(sql`without rowid`)
        .execute();
      await sql`
        insert into nonce_log (expires_at, access_key_id, nonce)
        select expires_at, access_key_id, nonce from nonces`.execute(db);
      await db.schema.dropTable('nonces').execute();
    },
  };
}
