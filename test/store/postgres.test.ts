/**
 * The store suite on PostgreSQL: a fresh schema per run; a second store is a second pool on the
 * same schema, which is how two nodes see the database.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../../src/store/store.js';
import { pgUrl, testStores } from '../helpers/server.js';
import { repositorySuite } from './repository.suite.js';

if (testStores().includes('postgres')) {
  repositorySuite('postgres', async () => {
    const schema = `s_${randomBytes(6).toString('hex')}`;
    const location = pgUrl();
    return {
      open: () => openStore({ location, schema }),
      drop: async () => {
        const store = await openStore({ location, migrate: false });
        try {
          await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
        } finally {
          await store.close();
        }
      },
    };
  });
} else {
  const reason = `VPCMIRROR_TEST_STORES (${process.env.VPCMIRROR_TEST_STORES ?? 'unset'}) does not list postgres`;
  console.log(`# store suite [postgres] SKIPPED: ${reason}`);
  test('store repositories [postgres]', { skip: reason }, () => {});
}
