/**
 * The default credentials a start hands out (ensureDefaultCredentials) when the store already has
 * an account made by someone else (a set-up file, another node): its own key, and an active one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDefaultCredentials, rootKey } from '../../src/accounts/bootstrap.js';
import { insertAccessKey, insertAccount } from '../../src/store/credentials.repo.js';
import { openStore } from '../../src/store/store.js';

test('a start on a store whose account has a disabled and an active root key hands out the active one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-bootstrap-'));
  const store = await openStore({ location: join(dir, 'vpcmirror.sqlite') });
  try {
    const accountId = '1000000000000001';
    await insertAccount(store.db, {
      id: accountId,
      name: 'made-elsewhere',
      default_resource_group_id: 'rg-bootstraptest1',
      created_at: 1,
    });
    // The disabled one is the older, and first by id too.
    await insertAccessKey(store.db, {
      ...rootKey(accountId, 'LTAIaaaold00000001', 'old', 1),
      status: 'Inactive',
    });
    await insertAccessKey(store.db, rootKey(accountId, 'LTAIzzznew00000001', 'new', 2));
    const creds = await ensureDefaultCredentials(
      store,
      join(dir, 'data'),
      { accessKeyId: undefined, accessKeySecret: undefined },
      3,
    );
    assert.deepEqual(
      [creds.accessKeyId, creds.accessKeySecret, creds.inactive],
      ['LTAIzzznew00000001', 'new', undefined],
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a start after a set-up file hands out a key of the file's first account, not of the account with the lowest id", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpcmirror-bootstrap-'));
  const store = await openStore({ location: join(dir, 'vpcmirror.sqlite') });
  try {
    for (const id of ['9000000000000001', '1000000000000001'])
      await insertAccount(store.db, {
        id,
        name: `a${id}`,
        default_resource_group_id: `rg-boot${id.slice(0, 4)}`,
        created_at: 1,
      });
    await insertAccessKey(store.db, rootKey('9000000000000001', 'LTAIfirstinfile01', 'first', 1));
    const creds = await ensureDefaultCredentials(
      store,
      join(dir, 'data'),
      { accessKeyId: undefined, accessKeySecret: undefined },
      2,
      new Set(['LTAIfirstinfile01']),
      '9000000000000001',
    );
    assert.deepEqual(
      [creds.accountId, creds.accessKeyId, creds.generated],
      ['9000000000000001', 'LTAIfirstinfile01', false],
    );
    const keys = await store.db.selectFrom('access_keys').select('account_id').execute();
    assert.deepEqual(
      keys.map((k) => k.account_id),
      ['9000000000000001'],
      'no key made in the other account',
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
