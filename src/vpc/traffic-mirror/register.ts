/**
 * Hooks the traffic mirror resources into the lifecycle engine: what "ready" and "delete" mean
 * for each resource type when a transition falls due.
 */
import type { Lifecycle } from '../../lifecycle/lifecycle.js';
import { ruleAppliers } from './filter-rules.service.js';
import { filterAppliers } from './filters.service.js';
import { sessionAppliers } from './sessions.service.js';

export function registerTrafficMirror(lifecycle: Lifecycle): void {
  lifecycle.register('filter', filterAppliers);
  lifecycle.register('rule', ruleAppliers);
  lifecycle.register('session', sessionAppliers);
}
