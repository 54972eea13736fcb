/**
 * How many sessions each account holds in each region, kept by triggers on every insert and
 * delete (from any writer, bulk loads included). ListTrafficMirrorSessions reports TotalCount and
 * CreateTrafficMirrorSession checks the per-region quota: both used to count the rows, which made a
 * page of a long list cost time in proportion to the list.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

export function sessionCounts(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('session_counts')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('n', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('session_counts_pk', ['account_id', 'region_id'])
        .execute();
      // Nodes of an older version may still be writing sessions (a rolling upgrade): hold their
      // writes until this migration commits, so that none falls between the count and the
      // triggers. On SQLite the migration's own write transaction does this.
      if (dialect === 'postgres')
        await sql`lock table traffic_mirror_sessions in share row exclusive mode`.execute(db);
      await sql`
        insert into session_counts (account_id, region_id, n)
        select account_id, region_id, count(*) from traffic_mirror_sessions group by account_id, region_id`.execute(
        db,
      );
      if (dialect === 'postgres') {
        // Statement triggers with transition tables: a bulk insert updates each counter once.
        await sql`
          create function count_inserted_sessions() returns trigger language plpgsql
          set search_path from current as $$
          begin
            insert into session_counts (account_id, region_id, n)
              select account_id, region_id, count(*) from inserted_sessions group by account_id, region_id
              order by account_id, region_id
            on conflict (account_id, region_id) do update set n = session_counts.n + excluded.n;
            return null;
          end $$`.execute(db);
        await sql`
          create function count_deleted_sessions() returns trigger language plpgsql
          set search_path from current as $$
          begin
            update session_counts c set n = c.n - d.n
              from (select account_id, region_id, count(*) as n from deleted_sessions
                    group by account_id, region_id) d
              where c.account_id = d.account_id and c.region_id = d.region_id;
            return null;
          end $$`.execute(db);
        await sql`
          create trigger traffic_mirror_sessions_count_insert after insert on traffic_mirror_sessions
          referencing new table as inserted_sessions
          for each statement execute function count_inserted_sessions()`.execute(db);
        await sql`
          create trigger traffic_mirror_sessions_count_delete after delete on traffic_mirror_sessions
          referencing old table as deleted_sessions
          for each statement execute function count_deleted_sessions()`.execute(db);
        await sql`
          create function count_truncated_sessions() returns trigger language plpgsql
          set search_path from current as $$
          begin
            delete from session_counts;
            return null;
          end $$`.execute(db);
        await sql`
          create trigger traffic_mirror_sessions_count_truncate after truncate on traffic_mirror_sessions
          for each statement execute function count_truncated_sessions()`.execute(db);
        return;
      }
      await sql`
        create trigger traffic_mirror_sessions_count_insert after insert on traffic_mirror_sessions
        begin
          insert into session_counts (account_id, region_id, n) values (new.account_id, new.region_id, 1)
          on conflict (account_id, region_id) do update set n = n + 1;
        end`.execute(db);
      await sql`
        create trigger traffic_mirror_sessions_count_delete after delete on traffic_mirror_sessions
        begin
          update session_counts set n = n - 1
          where account_id = old.account_id and region_id = old.region_id;
        end`.execute(db);
    },
  };
}
