/**
 * A counter that every change to credentials or policies moves forward, kept by triggers so that
 * no writer (a node, the CLI, a set-up file, a script writing rows) can forget it. Each node
 * caches AccessKeys and policies and checks them against this one number (read with each nonce
 * batch): the cache is then exactly as fresh as reading the rows themselves, and a key disabled
 * through any node is refused by every node from its next request on.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The tables whose rows decide who a request is and what it may do. */
export const RAM_TABLES = ['access_keys', 'ram_users', 'policies', 'policy_attachments'] as const;

export function ramGeneration(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('change_counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into change_counters (name, value) values ('ram', 0)`.execute(db);
      if (dialect === 'postgres') {
        // The function keeps the schema it was created in: a tool writing these tables with
        // another search_path still moves this store's counter.
        await sql`
          create function bump_ram_generation() returns trigger language plpgsql
          set search_path from current as $$
          begin
            update change_counters set value = value + 1 where name = 'ram';
            return null;
          end $$`.execute(db);
        for (const table of RAM_TABLES) {
          await sql`
            create trigger ${sql.id(`${table}_ram_generation`)}
            after insert or update or delete or truncate on ${sql.table(table)}
            for each statement execute function bump_ram_generation()`.execute(db);
        }
        return;
      }
      for (const table of RAM_TABLES) {
        for (const event of ['insert', 'update', 'delete'] as const) {
          await sql`
            create trigger ${sql.id(`${table}_ram_generation_${event}`)}
            after ${sql.raw(event)} on ${sql.table(table)}
            begin
              update change_counters set value = value + 1 where name = 'ram';
            end`.execute(db);
        }
      }
    },
  };
}
