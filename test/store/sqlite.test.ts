/** The store suite on SQLite: a fresh file per run; a second store opens the same file again. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/store.js';
import { testStores } from '../helpers/server.js';
import { repositorySuite } from './repository.suite.js';

if (testStores().includes('sqlite')) {
  repositorySuite('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-store-'));
    const location = join(dir, 'vpcmirror.sqlite');
    return {
      open: () => openStore({ location }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });
} else {
  console.log('# store suite [sqlite] SKIPPED: VPCMIRROR_TEST_STORES does not list sqlite');
}
