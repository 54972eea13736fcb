/**
 * RAM user groups: a user is allowed what the policies attached to it directly, and to every group
 * it belongs to, allow (spec protocol.md 11). Both tables move the RAM generation, as the other
 * RAM tables do (migration 0003), so a membership change applies on every node of this version at
 * its next request (nodes of an older version do not read groups at all: docs/architecture.md).
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

const GROUP_TABLES = ['ram_groups', 'ram_group_members'] as const;

export function ramGroups(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('ram_groups')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('comments', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ram_groups_pk', ['account_id', 'group_name'])
        .execute();
      await db.schema
        .createTable('ram_group_members')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('group_name', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ram_group_members_pk', ['account_id', 'group_name', 'user_name'])
        .execute();
      // A user's groups are what authorization reads.
      await db.schema
        .createIndex('ram_group_members_user')
        .on('ram_group_members')
        .columns(['account_id', 'user_name'])
        .execute();
      for (const table of GROUP_TABLES) {
        if (dialect === 'postgres') {
          await sql`
            create trigger ${sql.id(`${table}_ram_generation`)}
            after insert or update or delete or truncate on ${sql.table(table)}
            for each statement execute function bump_ram_generation()`.execute(db);
          continue;
        }
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
