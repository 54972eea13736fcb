/**
 * Tags of traffic mirror resources, one row per (resource, key). Both resource families read and
 * write them here, and List* filters use `resourcesWithTags`.
 */
import type { Executor } from '../../store/database.js';
import { byCodePoint } from '../../store/dialect.js';
import { type ListParams, listOf, listParams, prepared, preparedShapes } from '../../store/prepared.js';

export interface TagRow {
  readonly key: string;
  readonly value: string;
}

const tagsOfIds = preparedShapes(String, (db, p: ListParams, n: number) =>
  db
    .selectFrom('tags')
    .select(['resource_id', 'tag_key', 'tag_value'])
    .where('resource_id', 'in', listOf(p, n))
    // Grouped by resource (any order does), each resource's tags by code point.
    .orderBy('resource_id')
    .orderBy(byCodePoint(db, 'tag_key')),
);

export async function tagsOf(db: Executor, resourceIds: readonly string[]): Promise<Map<string, TagRow[]>> {
  const out = new Map<string, TagRow[]>();
  if (resourceIds.length === 0) return out;
  const rows = await tagsOfIds(resourceIds.length).all(db, listParams(resourceIds));
  for (const r of rows) {
    const list = out.get(r.resource_id) ?? [];
    list.push({ key: r.tag_key, value: r.tag_value });
    out.set(r.resource_id, list);
  }
  return out;
}

export async function countTags(db: Executor, resourceId: string): Promise<number> {
  const r = await db
    .selectFrom('tags')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('resource_id', '=', resourceId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Sets (adds or overwrites) tags on one resource. */
export async function putTags(
  db: Executor,
  owner: { resourceType: string; resourceId: string; accountId: string; regionId: string },
  tags: readonly { key: string; value: string }[],
): Promise<void> {
  if (tags.length === 0) return;
  await db
    .insertInto('tags')
    .values(
      tags.map((t) => ({
        resource_type: owner.resourceType,
        resource_id: owner.resourceId,
        account_id: owner.accountId,
        region_id: owner.regionId,
        tag_key: t.key,
        tag_value: t.value,
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['resource_id', 'tag_key'])
        .doUpdateSet((eb) => ({ tag_value: eb.ref('excluded.tag_value') })),
    )
    .execute();
}

/** Every tag of a resource (a resource removed, or UntagResources with All). */
const allTagsOf = prepared((db, p: { resourceId: string }) =>
  db.deleteFrom('tags').where('resource_id', '=', p.resourceId),
);

export async function removeTags(
  db: Executor,
  resourceId: string,
  keys: readonly string[] | 'all',
): Promise<void> {
  if (keys === 'all') {
    await allTagsOf.run(db, { resourceId });
    return;
  }
  if (keys.length === 0) return;
  await db.deleteFrom('tags').where('resource_id', '=', resourceId).where('tag_key', 'in', keys).execute();
}

/** Keys of a `Tags.N.Key`/`Tags.N.Value` filter: a value of undefined matches any value. */
export interface TagFilter {
  readonly Key: string;
  readonly Value?: string;
}
