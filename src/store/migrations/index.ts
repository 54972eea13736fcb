/**
 * Every migration the code knows, in order. Names are `YYYY_MM_DD_NNNN_what`; a database that has
 * applied a name missing here was written by newer code, and the store refuses to open it.
 */
import type { Migration } from 'kysely';
import type { Dialect } from '../dialect.js';
import { initial } from './2026_11_26_0001_initial.js';
import { ownersAndIndexes } from './2026_11_26_0002_owners_and_indexes.js';
import { ramGeneration } from './2026_11_26_0003_ram_generation.js';
import { sessionCounts } from './2026_11_26_0004_session_counts.js';
import { sqliteNonceLog } from './2026_11_26_0005_sqlite_nonce_log.js';
import { serverSecrets } from './2026_11_27_0006_server_secrets.js';
import { triggerRepairs } from './2026_11_27_0007_trigger_repairs.js';
import { transitionsDueOrder } from './2026_11_27_0008_transitions_due_order.js';
import { ramGroups } from './2026_11_27_0009_ram_groups.js';

export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '2026_11_26_0001_initial': initial(dialect),
    '2026_11_26_0002_owners_and_indexes': ownersAndIndexes,
    '2026_11_26_0003_ram_generation': ramGeneration(dialect),
    '2026_11_26_0004_session_counts': sessionCounts(dialect),
    '2026_11_26_0005_sqlite_nonce_log': sqliteNonceLog(dialect),
    '2026_11_27_0006_server_secrets': serverSecrets,
    '2026_11_27_0007_trigger_repairs': triggerRepairs(dialect),
    '2026_11_27_0008_transitions_due_order': transitionsDueOrder,
    '2026_11_27_0009_ram_groups': ramGroups(dialect),
  };
}
