/**
 * - ClientToken records name the node that runs their first request, so that a node starting again
 *   after a crash can free the claims its dead requests left behind at once, instead of making
 *   retries wait for the lease to run out.
 * - Transitions remember the action that scheduled them (create/update/delete), so that a
 *   transition left waiting for a manual advance is rescheduled when a node starts with timed
 *   transitions for that action.
 * - Sessions are looked up by VNI when a random unused one is picked.
 */
import type { Kysely } from 'kysely';

export const ownersAndIndexes = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('client_tokens').addColumn('owner', 'text').execute();
    await db.schema.alterTable('transitions').addColumn('action', 'text').execute();
    await db.schema
      .createIndex('traffic_mirror_sessions_vni')
      .on('traffic_mirror_sessions')
      .columns(['account_id', 'region_id', 'virtual_network_id'])
      .execute();
  },
};
