/**
 * The transition worker walks due transitions in (due time, resource type, resource id) order, a
 * page after the last one it tried (lifecycle.ts): with an index in that order each page starts
 * where the last ended, instead of sorting or scanning everything due before it. It replaces the
 * index on the due time alone, which it begins with.
 */
import type { Kysely } from 'kysely';

export const transitionsDueOrder = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createIndex('transitions_due_order')
      .on('transitions')
      .columns(['due_at', 'resource_type', 'resource_id'])
      .execute();
    await db.schema.dropIndex('transitions_due').execute();
  },
};
