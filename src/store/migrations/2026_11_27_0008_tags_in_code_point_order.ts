/**
 * Tags are listed in the order of their resource ids and keys (the Tags of each List item, the
 * pages of ListTagResources and the NextToken position in them). SQLite compares text by code
 * point; PostgreSQL by the database's collation, which is often a language's (en_US.UTF-8, ICU),
 * where "a" < "B" and "_x" comes first. The two columns are compared by code point on PostgreSQL
 * too, so both stores answer in one order.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

export function tagsInCodePointOrder(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql`
        alter table tags
          alter column resource_id type text collate "C",
          alter column tag_key type text collate "C"`.execute(db);
    },
  };
}
