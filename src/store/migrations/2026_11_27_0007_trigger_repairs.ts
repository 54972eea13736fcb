/**
 * Brings PostgreSQL databases made by an early build of migrations 0003 and 0004 to what those
 * migrations create now: trigger functions that keep their schema (a tool writing these tables
 * with another search_path still moves this store's counters) and triggers that also follow
 * TRUNCATE. Applied migrations never run again, so such a database kept the early definitions.
 * On a database made by the current 0003 and 0004 it changes nothing; it recounts only counts a
 * TRUNCATE left stale. SQLite's triggers did not change.
 */
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';
import { RAM_TABLES } from './2026_11_26_0003_ram_generation.js';

export function triggerRepairs(dialect: Dialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      // No session write of an older node may fall between the recount and the triggers.
      await sql`lock table traffic_mirror_sessions in share row exclusive mode`.execute(db);
      for (const fn of ['bump_ram_generation', 'count_inserted_sessions', 'count_deleted_sessions'])
        await sql`alter function ${sql.id(fn)}() set search_path from current`.execute(db);
      for (const table of RAM_TABLES) {
        const trigger = sql.id(`${table}_ram_generation`);
        await sql`drop trigger if exists ${trigger} on ${sql.table(table)}`.execute(db);
        await sql`
          create trigger ${trigger}
          after insert or update or delete or truncate on ${sql.table(table)}
          for each statement execute function bump_ram_generation()`.execute(db);
      }
      await sql`
        create or replace function count_truncated_sessions() returns trigger language plpgsql
        set search_path from current as $$
        begin
          delete from session_counts;
          return null;
        end $$`.execute(db);
      await sql`drop trigger if exists traffic_mirror_sessions_count_truncate on traffic_mirror_sessions`.execute(
        db,
      );
      await sql`
        create trigger traffic_mirror_sessions_count_truncate after truncate on traffic_mirror_sessions
        for each statement execute function count_truncated_sessions()`.execute(db);
      // Only counts that are wrong are written: a Create of an older node locks its counter row
      // before it inserts the session, which the table lock above holds back, so a counter row
      // this migration waited for would deadlock with it (and the migration then runs again).
      await sql`
        update session_counts c
          set n = (select count(*) from traffic_mirror_sessions s
                   where s.account_id = c.account_id and s.region_id = c.region_id)
        where c.n <> (select count(*) from traffic_mirror_sessions s
                      where s.account_id = c.account_id and s.region_id = c.region_id)`.execute(db);
      await sql`
        insert into session_counts (account_id, region_id, n)
        select account_id, region_id, count(*) from traffic_mirror_sessions s
        where not exists (select 1 from session_counts c
                          where c.account_id = s.account_id and c.region_id = s.region_id)
        group by account_id, region_id`.execute(db);
      // A key or policy truncated away before now did not move the generation: nodes re-read them.
      await sql`update change_counters set value = value + 1 where name = 'ram'`.execute(db);
    },
  };
}
