/**
 * Hooks the traffic mirror resources into the lifecycle engine: what "ready" and "delete" mean
 * for each resource type when a transition falls due.
 */
import type { Lifecycle } from '../../lifecycle/lifecycle.js';

export function registerTrafficMirror(_lifecycle: Lifecycle): void {}
