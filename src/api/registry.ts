/**
 * The operation table: every action the server answers, in one place. Each resource family
 * exports its operations; unknown actions are answered by the pipeline.
 */

import { filterOperations } from '../vpc/traffic-mirror/filters.operations.js';
import { serviceOperations } from '../vpc/traffic-mirror/service.operations.js';
import { sessionOperations } from '../vpc/traffic-mirror/sessions.operations.js';
import { tagOperations } from '../vpc/traffic-mirror/tags.operations.js';
import type { RegisteredOperation } from './operation.js';
import { regionOperations } from './regions.js';

export function buildRegistry(
  groups: ReadonlyArray<readonly RegisteredOperation[]>,
): ReadonlyMap<string, RegisteredOperation> {
  const table = new Map<string, RegisteredOperation>();
  for (const group of groups) {
    for (const op of group) {
      if (table.has(op.action)) throw new Error(`operation ${op.action} is defined twice`);
      table.set(op.action, op);
    }
  }
  return table;
}

export const ALL_OPERATION_GROUPS: ReadonlyArray<readonly RegisteredOperation[]> = [
  regionOperations,
  tagOperations,
  filterOperations,
  sessionOperations,
  serviceOperations,
];

export const OPERATIONS = buildRegistry(ALL_OPERATION_GROUPS);
