/**
 * The declarative set-up file loaded by `serve --config` (accounts, users, keys, policies).
 * Filled in with RAM management; until then only the hook exists.
 */
import type { Store } from '../store/store.js';

export async function applySetupFile(_store: Store, _path: string, _now: number): Promise<boolean> {
  return false;
}
