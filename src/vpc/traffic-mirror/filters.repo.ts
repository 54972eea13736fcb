/**
 * Traffic mirror filters and their rules in the store. Sessions use `filterState` to tell
 * whether a filter exists for them and whether it is being changed.
 */
import type { Executor } from '../../store/database.js';

export interface FilterState {
  readonly id: string;
  readonly status: string;
  /** True when the filter or any of its rules is not Created: a change is under way. */
  readonly busy: boolean;
}

/** The filter as sessions see it, scoped to one account and region; undefined when absent. */
export async function filterState(
  db: Executor,
  accountId: string,
  regionId: string,
  filterId: string,
): Promise<FilterState | undefined> {
  const filter = await db
    .selectFrom('traffic_mirror_filters')
    .select(['id', 'status'])
    .where('id', '=', filterId)
    .where('account_id', '=', accountId)
    .where('region_id', '=', regionId)
    .executeTakeFirst();
  if (!filter) return undefined;
  const changingRule = await db
    .selectFrom('traffic_mirror_filter_rules')
    .select('id')
    .where('filter_id', '=', filterId)
    .where('status', '!=', 'Created')
    .limit(1)
    .executeTakeFirst();
  return { id: filter.id, status: filter.status, busy: filter.status !== 'Created' || changingRule !== undefined };
}
