/**
 * The store contract, written once and run against every engine (sqlite.test.ts, postgres.test.ts):
 * every repository function and the lifecycle engine must behave the same on both, including when
 * two stores (two nodes, or two connections to one SQLite file) work on one database at once.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import { CredentialCache } from '../../src/auth/credential-cache.js';
import { type Appliers, Lifecycle, type ResourceKind } from '../../src/lifecycle/lifecycle.js';
import { createLogger } from '../../src/logger.js';
import {
  claimToken,
  completeToken,
  releaseOrphanedTokens,
  releaseToken,
  sweepTokens,
  type TokenKey,
} from '../../src/store/client-tokens.repo.js';
import {
  findAccessKey,
  findAccount,
  insertAccessKey,
  insertAccount,
  listAccounts,
  readRamGeneration,
  setAccessKeyStatus,
} from '../../src/store/credentials.repo.js';
import type { Executor } from '../../src/store/database.js';
import { dialectOf } from '../../src/store/dialect.js';
import { isUniqueViolation } from '../../src/store/errors.js';
import { GroupCommit, type TransactionRunner, writesFor } from '../../src/store/group-commit.js';
import { prepared } from '../../src/store/prepared.js';
import { recordNonces, sweepNonces } from '../../src/store/replay.repo.js';
import type { Store } from '../../src/store/store.js';
import { filterState } from '../../src/vpc/traffic-mirror/filters.repo.js';
import {
  addSources,
  countSessions,
  insertSession,
  insertSessionWithSources,
  listSessions,
  removeSession,
  removeSources,
  sourcesOf,
} from '../../src/vpc/traffic-mirror/sessions.repo.js';
import { countTags, putTags, removeTags, tagsOf } from '../../src/vpc/traffic-mirror/tags.repo.js';
import { sessionRow } from '../helpers/rows.js';

/** One empty, migrated database, and the way to open more stores on it. */
export interface TestDatabase {
  /** Opens one more store (connection or pool) on the same database. */
  open(): Promise<Store>;
  /** Removes the database; every store opened on it must be closed first. */
  drop(): Promise<void>;
}

export type StoreFactory = () => Promise<TestDatabase>;

let unique = 0;
function uid(prefix: string): string {
  unique++;
  return `${prefix}${process.pid}x${unique}`;
}

/** One nonce through the batch writer: true on a first use. */
async function recordNonce(db: Executor, accessKeyId: string, nonce: string, now: number, ttlMs: number) {
  const [first] = await recordNonces(db, [{ accessKeyId, nonce, now }], ttlMs);
  return first === true;
}

function tokenKey(overrides: Partial<TokenKey> = {}): TokenKey {
  return {
    accountId: '1000000000000001',
    regionId: 'cn-hangzhou',
    action: 'CreateTrafficMirrorSession',
    clientToken: uid('tok-'),
    ...overrides,
  };
}

async function countRows(db: Executor, table: 'nonces' | 'client_tokens' | 'transitions'): Promise<number> {
  // Used nonces are rows on PostgreSQL only (nonce-log.ts).
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** An applier that counts what it applied and writes a row in the applying transaction. */
class CountingApplier implements Appliers {
  readonly applied = new Map<string, number>();
  /** The transactions transitions were applied in. */
  readonly transactions = new Set<Executor>();
  failFor = new Set<string>();

  private async mark(tx: Executor, id: string, kind: string): Promise<void> {
    this.transactions.add(tx);
    if (this.failFor.has(id)) throw new Error(`applier refuses ${id}`);
    // A database round trip inside the claim's transaction widens the window in which a second
    // worker could (wrongly) apply the same transition.
    await tx
      .insertInto('tags')
      .values({
        resource_type: 'applied',
        resource_id: id,
        account_id: 'a',
        region_id: 'r',
        tag_key: `${kind}-${this.applied.get(`${kind}:${id}`) ?? 0}`,
        tag_value: kind,
      })
      .execute();
    const key = `${kind}:${id}`;
    this.applied.set(key, (this.applied.get(key) ?? 0) + 1);
  }

  ready(tx: Executor, id: string): Promise<void> {
    return this.mark(tx, id, 'ready');
  }

  delete(tx: Executor, id: string): Promise<void> {
    return this.mark(tx, id, 'delete');
  }

  count(kind: 'ready' | 'delete', id: string): number {
    return this.applied.get(`${kind}:${id}`) ?? 0;
  }
}

function lifecycleOn(
  store: Store,
  timing: Record<string, number | 'manual'>,
  applier: Appliers,
  logLines?: string[],
  writes?: TransactionRunner,
  retryMemory?: number,
): Lifecycle {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines?.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger('error', sink);
  const lc = new Lifecycle(store.db, store.dialect, timing, () => 0, log, 1000, writes, retryMemory);
  for (const kind of ['session', 'filter', 'rule'] as ResourceKind[]) lc.register(kind, applier);
  return lc;
}

export function repositorySuite(engine: string, factory: StoreFactory): void {
  describe(`store repositories [${engine}]`, () => {
    let database: TestDatabase;
    let store: Store;
    let second: Store;

    before(async () => {
      database = await factory();
      store = await database.open();
      second = await database.open();
    });
    after(async () => {
      await second?.close();
      await store?.close();
      await database?.drop();
    });

    describe('nonces', () => {
      test('recordNonce accepts a first use and refuses a replay inside the window', async () => {
        const n = uid('nonce-');
        assert.equal(await recordNonce(store.db, 'AK1', n, 1_000, 900), true);
        assert.equal(await recordNonce(store.db, 'AK1', n, 1_500, 900), false);
        assert.equal(await recordNonce(second.db, 'AK1', n, 1_899, 900), false, 'seen through another store');
      });

      test('recordNonce keys nonces by AccessKey', async () => {
        const n = uid('nonce-');
        assert.equal(await recordNonce(store.db, 'AK1', n, 1_000, 900), true);
        assert.equal(await recordNonce(store.db, 'AK2', n, 1_000, 900), true);
      });

      test('recordNonce accepts a nonce again once its window is over, even before the sweep', async () => {
        const n = uid('nonce-');
        assert.equal(await recordNonce(store.db, 'AK1', n, 1_000, 900), true);
        assert.equal(await recordNonce(store.db, 'AK1', n, 1_900, 900), true, 'expired at 1900');
        assert.equal(await recordNonce(store.db, 'AK1', n, 2_000, 900), false, 'window restarted at 1900');
      });

      test('a use that asks to be kept longer than its window (keepUntil) stays used until then', async () => {
        const n = uid('nonce-');
        const use = (now: number) => ({ accessKeyId: 'AK1', nonce: n, now, keepUntil: 5_000 });
        assert.deepEqual(await recordNonces(store.db, [use(1_000)], 900), [true]);
        assert.deepEqual(await recordNonces(store.db, [use(1_900)], 900), [false], 'kept past 1000 + 900');
        assert.deepEqual(
          await recordNonces(second.db, [use(4_999)], 900),
          [false],
          'seen through another store',
        );
        assert.deepEqual(await recordNonces(store.db, [use(5_000)], 900), [true], 'free at keepUntil');
      });

      test('recordNonce lets exactly one of two concurrent first uses win', async () => {
        const n = uid('nonce-');
        const results = await Promise.all([
          recordNonce(store.db, 'AK1', n, 1_000, 900),
          recordNonce(second.db, 'AK1', n, 1_000, 900),
        ]);
        assert.deepEqual(
          results.filter((r) => r),
          [true],
        );
      });

      test('recordNonces answers each use of a batch: first uses, replays, a nonce twice in one batch, an expired one', async () => {
        const [fresh, used, twice, expired] = [uid('n-'), uid('n-'), uid('n-'), uid('n-')];
        assert.equal(await recordNonce(store.db, 'AK1', used, 1_000, 900), true);
        assert.equal(await recordNonce(store.db, 'AK1', expired, 1_000, 900), true);
        const results = await recordNonces(
          second.db,
          [
            { accessKeyId: 'AK1', nonce: fresh, now: 1_500 },
            { accessKeyId: 'AK1', nonce: used, now: 1_500 },
            { accessKeyId: 'AK1', nonce: twice, now: 1_500 },
            { accessKeyId: 'AK2', nonce: used, now: 1_500 },
            { accessKeyId: 'AK1', nonce: twice, now: 1_500 },
            { accessKeyId: 'AK1', nonce: expired, now: 1_900 },
          ],
          900,
        );
        assert.deepEqual(results, [true, false, true, true, false, true]);
        assert.equal(await recordNonce(store.db, 'AK1', fresh, 2_000, 900), false, 'the batch committed');
      });

      test('recordNonces stores any nonce: a very long one and one with a NUL byte, next to ordinary ones', async () => {
        const long = `${uid('n-')}${'x'.repeat(5_000)}`;
        const nul = `${uid('n-')}\u0000end`;
        const plain = uid('n-');
        const first = await recordNonces(
          store.db,
          [long, nul, plain].map((nonce) => ({ accessKeyId: 'AK1', nonce, now: 1_000 })),
          900,
        );
        assert.deepEqual(first, [true, true, true]);
        const again = await recordNonces(
          second.db,
          [long, nul, plain, `${long}y`].map((nonce) => ({ accessKeyId: 'AK1', nonce, now: 1_100 })),
          900,
        );
        assert.deepEqual(again, [false, false, false, true]);
      });

      test('recordNonces writes more than one statement holds', async () => {
        const uses = Array.from({ length: 2_500 }, () => ({
          accessKeyId: 'AK3',
          nonce: uid('n-'),
          now: 1_000,
        }));
        const results = await recordNonces(store.db, uses, 900);
        assert.equal(results.length, 2_500);
        assert.ok(results.every((r) => r));
        const again = await recordNonces(second.db, uses.slice(990, 1_010), 900);
        assert.ok(again.every((r) => !r));
        // Used and new nonces mixed over several statements: each answer lands on its own use.
        const mixed = uses.slice(0, 150).map((u, i) => (i % 2 === 0 ? u : { ...u, nonce: uid('n-') }));
        const answers = await recordNonces(second.db, mixed, 900);
        assert.deepEqual(
          answers,
          mixed.map((_, i) => i % 2 === 1),
        );
      });

      // On SQLite the sweep deletes nonces two minutes of expiry at a time, from memory and the
      // journal (nonce-log-sqlite.test.ts); what both engines show alike is what a sweep keeps.
      test('sweepNonces removes expired nonces only', async () => {
        const postgres = dialectOf(store.db) === 'postgres';
        if (postgres) await store.db.deleteFrom('nonces').execute();
        await recordNonce(store.db, 'AK1', uid('n-'), 1_000, 100);
        await recordNonce(store.db, 'AK1', uid('n-'), 1_000, 500);
        const kept = uid('n-');
        await recordNonce(store.db, 'AK1', kept, 1_000, 2_000);
        await sweepNonces(store.db, 1_500, 0);
        if (postgres) assert.equal(await countRows(store.db, 'nonces'), 1);
        assert.equal(await recordNonce(store.db, 'AK1', kept, 1_600, 2_000), false);
      });

      test("sweepNonces on PostgreSQL leaves a row the grace past its expiry, for a writer whose clock is behind the sweeper's", {
        skip: engine === 'postgres' ? false : 'one SQLite process writes and sweeps: no grace',
      }, async () => {
        await store.db.deleteFrom('nonces').execute();
        await recordNonce(store.db, 'AK1', uid('n-'), 1_000, 100);
        const recent = uid('n-');
        await recordNonce(store.db, 'AK1', recent, 1_000, 500);
        await recordNonce(store.db, 'AK1', uid('n-'), 1_000, 2_000);
        // The sweeper's clock says 1_500; the writer's is 100 behind and still refuses `recent`.
        await sweepNonces(store.db, 1_500, 300);
        assert.equal(await countRows(store.db, 'nonces'), 2);
        assert.equal(await recordNonce(store.db, 'AK1', recent, 1_400, 500), false);
      });
    });

    describe('client tokens', () => {
      const LEASE = 60_000;
      const TTL = 86_400_000;

      test('claimToken claims a new token', async () => {
        assert.deepEqual(await claimToken(store.db, tokenKey(), 'h1', 1_000, LEASE, TTL, 'node-a'), {
          kind: 'claimed',
        });
      });

      test('claimToken answers processing for the same token and parameters while the first call runs', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        assert.deepEqual(await claimToken(second.db, key, 'h1', 2_000, LEASE, TTL, 'node-a'), {
          kind: 'processing',
        });
      });

      test('claimToken takes over a live claim of its own owner only when no request runs on it here', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        const running = await claimToken(second.db, key, 'h1', 2_000, LEASE, TTL, 'node-a', () => true);
        assert.deepEqual(running, { kind: 'processing' });
        const otherOwner = await claimToken(second.db, key, 'h1', 2_000, LEASE, TTL, 'node-b', () => false);
        assert.deepEqual(otherOwner, { kind: 'processing' });
        const left = await claimToken(second.db, key, 'h1', 2_000, LEASE, TTL, 'node-a', () => false);
        assert.deepEqual(left, { kind: 'claimed' });
        // Taken over: the claim's lease starts again from the takeover.
        const row = await store.db
          .selectFrom('client_tokens')
          .select(['state', 'lease_until'])
          .where('client_token', '=', key.clientToken)
          .executeTakeFirstOrThrow();
        assert.deepEqual(row, { state: 'processing', lease_until: 2_000 + LEASE });
      });

      test('claimToken answers mismatch for the same token with other parameters', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        assert.deepEqual(await claimToken(store.db, key, 'h2', 2_000, LEASE, TTL, 'node-a'), {
          kind: 'mismatch',
        });
        await completeToken(store.db, key, { Id: 'x' });
        assert.deepEqual(await claimToken(store.db, key, 'h2', 3_000, LEASE, TTL, 'node-a'), {
          kind: 'mismatch',
        });
      });

      test('claimToken replays the stored answer of a completed call', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        await completeToken(store.db, key, { TrafficMirrorSessionId: 'tms-1', Nested: { A: [1, 2] } });
        assert.deepEqual(await claimToken(second.db, key, 'h1', 2_000, LEASE, TTL, 'node-a'), {
          kind: 'replay',
          response: { TrafficMirrorSessionId: 'tms-1', Nested: { A: [1, 2] } },
        });
      });

      test('completeToken inside a rolled-back transaction leaves the token processing', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        await assert.rejects(
          store.db.transaction().execute(async (tx) => {
            await completeToken(tx, key, { Id: 'lost' });
            throw new Error('the operation failed after completing the token');
          }),
          /operation failed/,
        );
        assert.deepEqual(await claimToken(store.db, key, 'h1', 2_000, LEASE, TTL, 'node-a'), {
          kind: 'processing',
        });
      });

      test('claimToken distinguishes account, region and action', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        for (const other of [
          { ...key, accountId: '1000000000000002' },
          { ...key, regionId: 'cn-hongkong' },
          { ...key, action: 'DeleteTrafficMirrorSession' },
        ]) {
          assert.deepEqual(await claimToken(store.db, other, 'h1', 1_000, LEASE, TTL, 'node-a'), {
            kind: 'claimed',
          });
        }
      });

      test('claimToken takes over a processing token whose lease is over', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        assert.deepEqual(await claimToken(store.db, key, 'h1', 1_000 + LEASE - 1, LEASE, TTL, 'node-a'), {
          kind: 'processing',
        });
        assert.deepEqual(await claimToken(second.db, key, 'h1', 1_000 + LEASE, LEASE, TTL, 'node-a'), {
          kind: 'claimed',
        });
        // The new holder has a fresh lease.
        assert.deepEqual(await claimToken(store.db, key, 'h1', 1_000 + LEASE + 1, LEASE, TTL, 'node-a'), {
          kind: 'processing',
        });
      });

      test("a takeover makes the claim its owner's: the first holder can neither complete nor release it, and its node's restart clean-up leaves it", async () => {
        const key = tokenKey();
        const first = { owner: 'takeover-a', leaseUntil: 1_000 + LEASE };
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'takeover-a');
        const retry = { owner: 'takeover-b', leaseUntil: 1_000 + LEASE + LEASE };
        assert.deepEqual(await claimToken(second.db, key, 'h1', 1_000 + LEASE, LEASE, TTL, 'takeover-b'), {
          kind: 'claimed',
        });
        const row = () =>
          store.db
            .selectFrom('client_tokens')
            .select(['state', 'owner', 'lease_until'])
            .where('client_token', '=', key.clientToken)
            .executeTakeFirst();
        assert.deepEqual(await row(), {
          state: 'processing',
          owner: 'takeover-b',
          lease_until: retry.leaseUntil,
        });
        assert.equal(await releaseOrphanedTokens(store.db, 'takeover-a'), 0);
        assert.equal(await completeToken(store.db, key, { Id: 'first' }, first), false);
        await releaseToken(store.db, key, first);
        assert.deepEqual(await row(), {
          state: 'processing',
          owner: 'takeover-b',
          lease_until: retry.leaseUntil,
        });
        assert.equal(await completeToken(store.db, key, { Id: 'retry' }, retry), true);
        assert.deepEqual(await claimToken(store.db, key, 'h1', 1_000 + LEASE + 1, LEASE, TTL, 'takeover-a'), {
          kind: 'replay',
          response: { Id: 'retry' },
        });
      });

      test('claimToken lets exactly one of two concurrent takeovers of a dead lease win', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        const results = await Promise.all([
          claimToken(store.db, key, 'h1', 1_000 + LEASE, LEASE, TTL, 'node-a'),
          claimToken(second.db, key, 'h1', 1_000 + LEASE, LEASE, TTL, 'node-a'),
        ]);
        assert.deepEqual(results.map((r) => r.kind).sort(), ['claimed', 'processing']);
      });

      test('claimToken lets exactly one of two concurrent first claims win', async () => {
        const key = tokenKey();
        const results = await Promise.all([
          claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a'),
          claimToken(second.db, key, 'h1', 1_000, LEASE, TTL, 'node-a'),
        ]);
        assert.deepEqual(results.map((r) => r.kind).sort(), ['claimed', 'processing']);
      });

      test('claimToken treats an expired completed token as new, even with other parameters', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        await completeToken(store.db, key, { Id: 'old' });
        assert.equal(
          (await claimToken(store.db, key, 'h1', 1_000 + TTL - 1, LEASE, TTL, 'node-a')).kind,
          'replay',
        );
        assert.deepEqual(await claimToken(store.db, key, 'h2', 1_000 + TTL, LEASE, TTL, 'node-a'), {
          kind: 'claimed',
        });
        assert.deepEqual(await claimToken(store.db, key, 'h2', 1_000 + TTL + 1, LEASE, TTL, 'node-a'), {
          kind: 'processing',
        });
      });

      test('releaseToken frees a processing token so that a retry runs again', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        await releaseToken(store.db, key);
        assert.deepEqual(await claimToken(store.db, key, 'h2', 2_000, LEASE, TTL, 'node-a'), {
          kind: 'claimed',
        });
      });

      test('releaseToken keeps a completed token', async () => {
        const key = tokenKey();
        await claimToken(store.db, key, 'h1', 1_000, LEASE, TTL, 'node-a');
        await completeToken(store.db, key, { Id: 'kept' });
        await releaseToken(store.db, key);
        assert.deepEqual(await claimToken(store.db, key, 'h1', 2_000, LEASE, TTL, 'node-a'), {
          kind: 'replay',
          response: { Id: 'kept' },
        });
      });

      test('releaseOrphanedTokens frees only the processing claims of the restarted node', async () => {
        await store.db.deleteFrom('client_tokens').execute();
        const mine = tokenKey();
        const theirs = tokenKey();
        const finished = tokenKey();
        await claimToken(store.db, mine, 'h1', 1_000, LEASE, TTL, 'node-a');
        await claimToken(store.db, theirs, 'h1', 1_000, LEASE, TTL, 'node-b');
        await claimToken(store.db, finished, 'h1', 1_000, LEASE, TTL, 'node-a');
        await completeToken(store.db, finished, { Id: 'done' });
        assert.equal(await releaseOrphanedTokens(store.db, 'node-a'), 1);
        assert.equal((await claimToken(store.db, mine, 'h1', 2_000, LEASE, TTL, 'node-a')).kind, 'claimed');
        assert.equal(
          (await claimToken(store.db, theirs, 'h1', 2_000, LEASE, TTL, 'node-a')).kind,
          'processing',
        );
        assert.equal(
          (await claimToken(store.db, finished, 'h1', 2_000, LEASE, TTL, 'node-a')).kind,
          'replay',
        );
      });

      test('sweepTokens removes expired tokens only', async () => {
        await store.db.deleteFrom('client_tokens').execute();
        const gone = tokenKey();
        const kept = tokenKey();
        await claimToken(store.db, gone, 'h1', 1_000, LEASE, 10_000, 'node-a');
        await claimToken(store.db, kept, 'h1', 1_000, LEASE, 20_000, 'node-a');
        await completeToken(store.db, kept, { Id: 'kept' });
        await sweepTokens(store.db, 11_000);
        assert.equal(await countRows(store.db, 'client_tokens'), 1);
        assert.equal((await claimToken(store.db, kept, 'h1', 12_000, LEASE, TTL, 'node-a')).kind, 'replay');
      });
    });

    describe('accounts and AccessKeys', () => {
      function key(accountId: string, overrides: Record<string, unknown> = {}) {
        return {
          access_key_id: uid('LTAI'),
          secret: 'secret-value',
          account_id: accountId,
          user_name: null,
          role_name: null,
          status: 'Active',
          security_token: null,
          expires_at: null,
          session_policy: null,
          created_at: 1_000,
          ...overrides,
        };
      }

      test('insertAccount and findAccount round-trip an account, and listAccounts orders by creation', async () => {
        const late = {
          id: uid('9'),
          name: 'late',
          default_resource_group_id: 'rg-late',
          created_at: 5_000_000,
        };
        const early = { id: uid('8'), name: 'early', default_resource_group_id: 'rg-early', created_at: 10 };
        await insertAccount(store.db, late);
        await insertAccount(store.db, early);
        assert.deepEqual(await findAccount(second.db, late.id), late);
        assert.equal(await findAccount(store.db, 'no-such-account'), undefined);
        const ids = (await listAccounts(store.db)).map((a) => a.id);
        assert.ok(ids.indexOf(early.id) < ids.indexOf(late.id));
      });

      test('insertAccessKey and findAccessKey round-trip every column', async () => {
        const k = key('1', {
          user_name: 'alice',
          role_name: 'ops',
          security_token: 'tok',
          expires_at: 1_700_000_000_000,
          session_policy: '{"Version":"1"}',
        });
        await insertAccessKey(store.db, k);
        assert.deepEqual(await findAccessKey(second.db, k.access_key_id), k);
        assert.equal(await findAccessKey(store.db, 'LTAInope'), undefined);
      });

      test('setAccessKeyStatus changes a key and reports an unknown one', async () => {
        const k = key('1');
        await insertAccessKey(store.db, k);
        assert.equal(await setAccessKeyStatus(store.db, k.access_key_id, 'Inactive'), true);
        assert.equal((await findAccessKey(second.db, k.access_key_id))?.status, 'Inactive');
        assert.equal(await setAccessKeyStatus(store.db, 'LTAInope', 'Inactive'), false);
      });

      test('every change to keys, users, policies and attachments moves the RAM generation forward', async () => {
        const steps: Array<[string, (db: Executor) => Promise<unknown>]> = [];
        const k = key('1');
        const user = uid('user-');
        const policy = uid('policy-');
        steps.push(['insert a key', (db) => insertAccessKey(db, k)]);
        steps.push(['disable a key', (db) => setAccessKeyStatus(db, k.access_key_id, 'Inactive')]);
        steps.push([
          'delete a key',
          (db) => db.deleteFrom('access_keys').where('access_key_id', '=', k.access_key_id).execute(),
        ]);
        steps.push([
          'insert a user',
          (db) =>
            db
              .insertInto('ram_users')
              .values({ account_id: '1', user_name: user, user_id: user, display_name: user, created_at: 1 })
              .execute(),
        ]);
        steps.push([
          'insert a policy',
          (db) =>
            db
              .insertInto('policies')
              .values({
                account_id: '1',
                policy_name: policy,
                document: '{}',
                description: '',
                created_at: 1,
              })
              .execute(),
        ]);
        steps.push([
          'change a policy',
          (db) =>
            db.updateTable('policies').set({ document: '{ }' }).where('policy_name', '=', policy).execute(),
        ]);
        steps.push([
          'attach a policy',
          (db) =>
            db
              .insertInto('policy_attachments')
              .values({
                account_id: '1',
                principal_type: 'User',
                principal_name: user,
                policy_type: 'Custom',
                policy_name: policy,
              })
              .execute(),
        ]);
        steps.push([
          'detach a policy',
          (db) => db.deleteFrom('policy_attachments').where('principal_name', '=', user).execute(),
        ]);
        steps.push([
          'insert a group',
          (db) =>
            db
              .insertInto('ram_groups')
              .values({ account_id: '1', group_name: user, comments: '', created_at: 1 })
              .execute(),
        ]);
        steps.push([
          'change a group',
          (db) =>
            db.updateTable('ram_groups').set({ comments: 'x' }).where('group_name', '=', user).execute(),
        ]);
        steps.push([
          'add a group member',
          (db) =>
            db
              .insertInto('ram_group_members')
              .values({ account_id: '1', group_name: user, user_name: user, created_at: 1 })
              .execute(),
        ]);
        steps.push([
          'remove a group member',
          (db) => db.deleteFrom('ram_group_members').where('group_name', '=', user).execute(),
        ]);
        steps.push([
          'delete a group',
          (db) => db.deleteFrom('ram_groups').where('group_name', '=', user).execute(),
        ]);
        steps.push([
          'delete a user',
          (db) => db.deleteFrom('ram_users').where('user_name', '=', user).execute(),
        ]);
        for (const [what, change] of steps) {
          const before = await readRamGeneration(second.db);
          await change(store.db);
          assert.ok((await readRamGeneration(second.db)) > before, `${what} moves the generation`);
        }
        const before = await readRamGeneration(store.db);
        await insertAccount(store.db, {
          id: uid('7'),
          name: 'x',
          default_resource_group_id: 'rg-x',
          created_at: 1,
        });
        assert.equal(await readRamGeneration(store.db), before, 'other tables leave it alone');
      });

      test('a cached key or policy set is not used past a change made through another store', async () => {
        const user = uid('u-');
        const k = key('1', { user_name: user });
        await insertAccessKey(store.db, k);
        const cache = new CredentialCache(store.db);
        const principal = {
          accountId: '1',
          type: 'SubUser' as const,
          name: user,
          accessKeyId: k.access_key_id,
          userName: user,
          roleName: null,
          sessionPolicy: null,
        };
        const first = await cache.fresh();
        assert.equal((await first.accessKey(k.access_key_id))?.status, 'Active');
        assert.deepEqual(await first.policies(principal), []);
        assert.equal((await (await cache.fresh()).accessKey(k.access_key_id))?.status, 'Active', 'cached');

        await setAccessKeyStatus(second.db, k.access_key_id, 'Inactive');
        assert.equal((await (await cache.fresh()).accessKey(k.access_key_id))?.status, 'Inactive');

        await second.db
          .insertInto('policy_attachments')
          .values({
            account_id: '1',
            principal_type: 'User',
            principal_name: user,
            policy_type: 'System',
            policy_name: 'AliyunVPCReadOnlyAccess',
          })
          .execute();
        assert.equal((await (await cache.fresh()).policies(principal)).length, 1);

        await second.db.deleteFrom('access_keys').where('access_key_id', '=', k.access_key_id).execute();
        assert.equal(await (await cache.fresh()).accessKey(k.access_key_id), undefined);

        // A database restored from an older backup: the counter goes back, the rows differ.
        await insertAccessKey(second.db, { ...k, status: 'Inactive' });
        assert.equal((await (await cache.fresh()).accessKey(k.access_key_id))?.status, 'Inactive');
        await setAccessKeyStatus(second.db, k.access_key_id, 'Active');
        await second.db.updateTable('change_counters').set({ value: 1 }).where('name', '=', 'ram').execute();
        assert.equal((await (await cache.fresh()).accessKey(k.access_key_id))?.status, 'Active');
      });

      test('cached rows answer until a newer generation is observed, which starts from current rows', async () => {
        const k = key('1');
        await insertAccessKey(store.db, k);
        const cache = new CredentialCache(store.db);
        const start = await cache.fresh();
        assert.equal((await start.accessKey(k.access_key_id))?.status, 'Active');

        await setAccessKeyStatus(second.db, k.access_key_id, 'Inactive');
        const stale = cache.cached();
        assert.equal(stale.generation, start.generation, 'nothing was read, so the epoch is the same');
        assert.equal((await stale.accessKey(k.access_key_id))?.status, 'Active', 'still the cached row');

        const now = cache.observe(await readRamGeneration(store.db));
        assert.notEqual(now.generation, start.generation);
        assert.equal((await now.accessKey(k.access_key_id))?.status, 'Inactive');
        assert.equal(cache.observe(now.generation), now, 'the same generation keeps the epoch');
      });

      test('inserting an AccessKey id twice is a unique violation on this engine', async () => {
        const k = key('1');
        await insertAccessKey(store.db, k);
        const err = await insertAccessKey(store.db, k).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err, 'the second insert must fail');
        assert.equal(isUniqueViolation(err), true);
        assert.equal(isUniqueViolation(new Error('other')), false);
      });
    });

    describe('session counts', () => {
      const session = (accountId: string, regionId: string, priority: number) =>
        sessionRow(uid('tms-'), accountId, regionId, priority);

      test('follow every insert and delete, one row or many at once, per account and region', async () => {
        const [a, b] = [uid('5'), uid('5')];
        assert.equal(await countSessions(store.db, a, 'cn-hangzhou'), 0);
        const rows = [1, 2, 3].map((p) => session(a, 'cn-hangzhou', p));
        await store.db.insertInto('traffic_mirror_sessions').values(rows).execute();
        await insertSession(second.db, session(a, 'cn-beijing', 1));
        await insertSession(second.db, session(b, 'cn-hangzhou', 1));
        assert.equal(await countSessions(second.db, a, 'cn-hangzhou'), 3);
        assert.equal(await countSessions(store.db, a, 'cn-beijing'), 1);
        assert.equal(await countSessions(store.db, b, 'cn-hangzhou'), 1);
        await store.db
          .deleteFrom('traffic_mirror_sessions')
          .where('id', 'in', [rows[0]?.id ?? '', rows[1]?.id ?? ''])
          .execute();
        assert.equal(await countSessions(second.db, a, 'cn-hangzhou'), 1);
        await store.db.transaction().execute(async (tx) => {
          await insertSession(tx, session(a, 'cn-hangzhou', 7));
          assert.equal(await countSessions(tx, a, 'cn-hangzhou'), 2, 'inside the transaction');
        });
        const rolledBack = await store.db
          .transaction()
          .execute(async (tx) => {
            await insertSession(tx, session(a, 'cn-hangzhou', 8));
            throw new Error('roll back');
          })
          .catch((e: unknown) => e);
        assert.ok(rolledBack instanceof Error);
        assert.equal(
          await countSessions(store.db, a, 'cn-hangzhou'),
          2,
          'a rolled back insert is not counted',
        );
      });
    });

    describe('group commit', () => {
      const account = (id: string) => ({ id, name: id, default_resource_group_id: 'rg-x', created_at: 1 });
      const stored = async (ids: readonly string[]) =>
        (await second.db.selectFrom('accounts').select('id').where('id', 'in', ids).execute())
          .map((r) => r.id)
          .sort();

      test('requests waiting together run one after another in one transaction and are all committed', async () => {
        const group = new GroupCommit(store.db);
        const ids = [uid('g'), uid('g'), uid('g')];
        const transactions = new Set<unknown>();
        const seen = await Promise.all(
          ids.map((id) =>
            group.run(async (tx) => {
              transactions.add(tx);
              await tx.insertInto('accounts').values(account(id)).execute();
              const r = await tx.selectFrom('accounts').select('id').where('id', 'in', ids).execute();
              return r.length;
            }),
          ),
        );
        assert.equal(transactions.size, 1, 'one transaction for the three');
        assert.deepEqual(seen, [1, 2, 3], 'each sees the writes of the ones before it');
        assert.deepEqual(await stored(ids), [...ids].sort());
      });

      test('a request that fails rolls back its own writes only, and keeps its own error', async () => {
        const group = new GroupCommit(store.db);
        const [a, b, c] = [uid('g'), uid('g'), uid('g')];
        const insert = (id: string, fail: boolean) =>
          group.run(async (tx) => {
            await tx.insertInto('accounts').values(account(id)).execute();
            if (fail) throw new Error(`refused ${id}`);
            return id;
          });
        const results = await Promise.allSettled([insert(a, false), insert(b, true), insert(c, false)]);
        assert.deepEqual(results[0], { status: 'fulfilled', value: a });
        assert.equal(results[1]?.status, 'rejected');
        assert.match(String((results[1] as PromiseRejectedResult).reason), new RegExp(`refused ${b}`));
        assert.deepEqual(results[2], { status: 'fulfilled', value: c });
        assert.deepEqual(await stored([a, b, c]), [a, c].sort());
      });

      test('when the shared transaction itself fails, the other requests run again on their own and commit', async () => {
        const group = new GroupCommit(store.db);
        const [a, b, c] = [uid('g'), uid('g'), uid('g')];
        const runs = new Map<string, number>();
        const insert = (id: string, endsTransaction: boolean) =>
          group.run(async (tx) => {
            runs.set(id, (runs.get(id) ?? 0) + 1);
            await tx.insertInto('accounts').values(account(id)).execute();
            // Ends the transaction under everyone's feet, as an engine does after some errors.
            if (endsTransaction) await sql`rollback`.execute(tx);
            return id;
          });
        const results = await Promise.allSettled([insert(a, false), insert(b, true), insert(c, false)]);
        assert.deepEqual(results[0], { status: 'fulfilled', value: a });
        assert.deepEqual(results[2], { status: 'fulfilled', value: c });
        assert.deepEqual(await stored([a, b, c]), [a, c].sort(), 'b rolled its own writes back, twice');
        assert.equal(runs.get(a), 2, 'run in the group, then alone');
        const later = uid('g');
        assert.equal(
          await group.run(async (tx) => {
            await tx.insertInto('accounts').values(account(later)).execute();
            return later;
          }),
          later,
          'the next group works',
        );
        assert.deepEqual(await stored([later]), [later]);
      });
    });

    describe('inserting a session with its sources', () => {
      test('writes the session and its sources in order at positions 1…n, and nothing when the session insert fails', async () => {
        const accountId = uid('8');
        const id = uid('tms-');
        const sources = ['eni-c', 'eni-a', 'eni-b'];
        await insertSessionWithSources(store.db, sessionRow(id, accountId, 'cn-hangzhou', 1), sources);
        assert.deepEqual((await sourcesOf(store.db, [id])).get(id), sources);
        const positions = await store.db
          .selectFrom('traffic_mirror_session_sources')
          .select(['source_id', 'position'])
          .where('session_id', '=', id)
          .orderBy('position')
          .execute();
        assert.deepEqual(
          positions.map((r) => [r.source_id, Number(r.position)]),
          [
            ['eni-c', 1],
            ['eni-a', 2],
            ['eni-b', 3],
          ],
        );
        // The same priority again: the session's unique index refuses it, and its sources stay out too.
        const loser = uid('tms-');
        await assert.rejects(
          store.db
            .transaction()
            .execute((tx) =>
              insertSessionWithSources(tx, sessionRow(loser, accountId, 'cn-hangzhou', 1), ['eni-z']),
            ),
          (e: unknown) => isUniqueViolation(e),
        );
        assert.equal((await sourcesOf(store.db, [loser])).get(loser), undefined);
      });
    });

    describe('removing a session', () => {
      test('takes a Deleting session with its sources and tags, and leaves a session in any other status whole', async () => {
        const accountId = uid('7');
        const [doomed, kept] = [uid('tms-'), uid('tms-')];
        await insertSession(store.db, {
          ...sessionRow(doomed, accountId, 'cn-hangzhou', 1),
          status: 'Deleting',
        });
        await insertSession(store.db, sessionRow(kept, accountId, 'cn-hangzhou', 2));
        for (const id of [doomed, kept]) {
          await addSources(store.db, id, [`eni-${id}a`, `eni-${id}b`]);
          await putTags(
            store.db,
            { resourceType: 'TRAFFICMIRRORSESSION', resourceId: id, accountId, regionId: 'cn-hangzhou' },
            [{ key: 'k', value: id }],
          );
        }
        const remaining = async () => {
          const ids = [doomed, kept];
          const rows = await store.db
            .selectFrom('traffic_mirror_sessions')
            .select('id')
            .where('id', 'in', ids)
            .execute();
          const sources = await sourcesOf(store.db, ids);
          const tags = await tagsOf(store.db, ids);
          return ids.map((id) => [
            rows.some((r) => r.id === id),
            sources.get(id)?.length ?? 0,
            tags.get(id)?.length ?? 0,
          ]);
        };
        const [whole, gone] = [
          [true, 2, 1],
          [false, 0, 0],
        ];
        await removeSession(store.db, kept);
        assert.deepEqual(await remaining(), [whole, whole], 'a Created session stays');
        await removeSession(second.db, doomed);
        assert.deepEqual(await remaining(), [gone, whole]);
        assert.equal(await countSessions(store.db, accountId, 'cn-hangzhou'), 1);
        await removeSession(store.db, doomed);
        assert.deepEqual(await remaining(), [gone, whole], 'a second removal changes nothing');
      });
    });

    describe('a List page', () => {
      test('carries the sources of each session in the order added and its tags by key, and says whether more follow', async () => {
        const accountId = uid('6');
        const [bare, full] = [uid('tms-'), uid('tms-')];
        await insertSession(store.db, sessionRow(bare, accountId, 'cn-hangzhou', 1));
        await insertSession(store.db, sessionRow(full, accountId, 'cn-hangzhou', 2));
        await addSources(store.db, full, ['eni-zz', 'eni-aa']);
        await addSources(store.db, full, ['eni-mm']);
        await removeSources(store.db, full, ['eni-aa']);
        await addSources(store.db, full, ['eni-aa']);
        await putTags(
          store.db,
          { resourceType: 'TRAFFICMIRRORSESSION', resourceId: full, accountId, regionId: 'cn-hangzhou' },
          [
            { key: 'zeta', value: '' },
            { key: 'Alpha', value: 'x"\\y' },
            { key: 'alpha', value: '\u00e9' },
          ],
        );
        const query = {
          regionId: 'cn-hangzhou',
          ids: [],
          sourceId: undefined,
          name: undefined,
          targetId: undefined,
          filterId: undefined,
          virtualNetworkId: undefined,
          priority: undefined,
          enabled: undefined,
          resourceGroupId: undefined,
          tags: [],
        };
        const page = { accountId, afterSeq: undefined, limit: 10 };
        const { rows, more, total } = await listSessions(second.db, query, page);
        assert.equal(total, 2);
        assert.equal(more, false);
        assert.deepEqual(
          rows.map((r) => r.session.id),
          [bare, full],
        );
        assert.deepEqual(rows[0]?.sourceIds, []);
        assert.deepEqual(rows[0]?.tags, []);
        assert.deepEqual(rows[1]?.sourceIds, ['eni-zz', 'eni-mm', 'eni-aa']);
        const byKey = await tagsOf(store.db, [full]);
        assert.deepEqual(rows[1]?.tags, byKey.get(full), 'the same order as tagsOf on this engine');
        // Written first, yet last by key under any collation: the tags are ordered, not as stored.
        assert.equal(rows[1]?.tags.at(-1)?.key, 'zeta');
        assert.deepEqual(
          new Set(rows[1]?.tags.map((t) => `${t.key}=${t.value}`)),
          new Set(['zeta=', 'Alpha=x"\\y', 'alpha=\u00e9']),
        );
        assert.equal(rows[1]?.session.priority, 2, 'the session columns are all there');
        const first = await listSessions(store.db, query, { ...page, limit: 1 });
        assert.deepEqual(
          first.rows.map((r) => [r.session.id, r.sourceIds.length]),
          [[bare, 0]],
        );
        assert.equal(first.more, true);
        assert.equal(first.total, 2);
      });
    });

    describe('prepared statements', () => {
      const byId = prepared((db, p: { id: string; floor: number }) =>
        db
          .selectFrom('accounts')
          .select(['id', 'name'])
          .where('id', '=', p.id)
          .where('created_at', '>=', p.floor)
          .where('name', '!=', 'fixed value kept'),
      );

      test('run with fresh values each time, on any store of the database and inside a transaction', async () => {
        const a = { id: uid('6'), name: 'a', default_resource_group_id: 'rg-a', created_at: 100 };
        const b = { id: uid('6'), name: 'b', default_resource_group_id: 'rg-b', created_at: 200 };
        await insertAccount(store.db, a);
        await insertAccount(store.db, b);
        assert.deepEqual(await byId.first(store.db, { id: a.id, floor: 0 }), { id: a.id, name: 'a' });
        assert.deepEqual(await byId.all(second.db, { id: b.id, floor: 0 }), [{ id: b.id, name: 'b' }]);
        assert.equal(await byId.first(store.db, { id: b.id, floor: 201 }), undefined);
        const rename = prepared((db, p: { id: string; name: string }) =>
          db.updateTable('accounts').set({ name: p.name }).where('id', '=', p.id),
        );
        await store.db.transaction().execute(async (tx) => {
          assert.equal(await rename.run(tx, { id: a.id, name: 'renamed' }), 1);
          assert.deepEqual(await byId.first(tx, { id: a.id, floor: 0 }), { id: a.id, name: 'renamed' });
        });
        assert.equal(await rename.run(store.db, { id: 'no-such-account', name: 'x' }), 0);
      });

      test('on PostgreSQL a connection parses each of them once, as a named statement; other SQL stays unnamed', {
        skip: engine === 'postgres' ? false : 'named statements are a PostgreSQL matter',
      }, async () => {
        const a = { id: uid('6'), name: 'named', default_resource_group_id: 'rg-a', created_at: 100 };
        await insertAccount(store.db, a);
        // SQL text of its own, so that no connection of the pool has met it before.
        const byCeiling = prepared((db, p: { id: string; ceiling: number }) =>
          db
            .selectFrom('accounts')
            .select(['id', 'name'])
            .where('id', '=', p.id)
            .where('created_at', '<', p.ceiling),
        );
        await store.db.connection().execute(async (conn) => {
          // The server's statements carry the names this process gave the plans.
          const before = await sql<{
            n: number;
          }>`select count(*)::int as n from pg_prepared_statements`.execute(conn);
          assert.deepEqual(await byCeiling.first(conn, { id: a.id, ceiling: 200 }), {
            id: a.id,
            name: 'named',
          });
          assert.deepEqual(await byCeiling.first(conn, { id: a.id, ceiling: 100 }), undefined);
          const named = await sql<{ name: string; statement: string }>`
            select name, statement from pg_prepared_statements where statement like ${'%"created_at" < $2%'}`.execute(
            conn,
          );
          assert.equal(named.rows.length, 1, 'prepared once, run twice');
          assert.match(named.rows[0]?.name ?? '', /^vpcmirror_\d+$/);
          const after = await sql<{
            n: number;
          }>`select count(*)::int as n from pg_prepared_statements`.execute(conn);
          assert.equal(
            Number(after.rows[0]?.n) - Number(before.rows[0]?.n),
            1,
            'the ad-hoc reads were not named',
          );
        });
      });

      test('refuse a placeholder changed before binding, and a call that leaves one without a value', async () => {
        const mangled = prepared((db, p: { name: string }) =>
          db.selectFrom('accounts').select('id').where('name', 'like', `%${p.name}%`),
        );
        await assert.rejects(mangled.first(store.db, { name: 'x' }), /placeholder was changed/);
        const byName = prepared((db, p: { name: string }) =>
          db.selectFrom('accounts').select('id').where('name', '=', p.name),
        );
        await assert.rejects(byName.first(store.db, {} as { name: string }), /no value for placeholder name/);
      });

      test('refuse a builder that writes a placeholder into the SQL text instead of binding it', async () => {
        const inlined = prepared((db, p: { name: string }) =>
          db.selectFrom('accounts').select('id').where('name', '=', sql.lit(p.name)),
        );
        await assert.rejects(inlined.first(store.db, { name: 'x' }), /placeholder was inlined/);
      });
    });

    describe('tags', () => {
      const owner = (resourceId: string) => ({
        resourceType: 'TRAFFICMIRRORSESSION',
        resourceId,
        accountId: '1',
        regionId: 'cn-hangzhou',
      });

      test('putTags adds tags and tagsOf returns them by resource, ordered by key', async () => {
        const a = uid('tms-');
        const b = uid('tms-');
        await putTags(store.db, owner(a), [
          { key: 'zeta', value: '1' },
          { key: 'alpha', value: '2' },
        ]);
        await putTags(store.db, owner(b), [{ key: 'k', value: '' }]);
        const tags = await tagsOf(second.db, [a, b, uid('tms-')]);
        assert.deepEqual(tags.get(a), [
          { key: 'alpha', value: '2' },
          { key: 'zeta', value: '1' },
        ]);
        assert.deepEqual(tags.get(b), [{ key: 'k', value: '' }]);
        assert.equal(tags.size, 2);
        assert.equal((await tagsOf(store.db, [])).size, 0);
      });

      test('putTags overwrites the value of an existing key', async () => {
        const a = uid('tms-');
        await putTags(store.db, owner(a), [{ key: 'env', value: 'dev' }]);
        await putTags(store.db, owner(a), [
          { key: 'env', value: 'prod' },
          { key: 'team', value: 'net' },
        ]);
        assert.deepEqual((await tagsOf(store.db, [a])).get(a), [
          { key: 'env', value: 'prod' },
          { key: 'team', value: 'net' },
        ]);
        assert.equal(await countTags(store.db, a), 2);
      });

      test('putTags with no tags changes nothing', async () => {
        const a = uid('tms-');
        await putTags(store.db, owner(a), []);
        assert.equal(await countTags(store.db, a), 0);
      });

      test('removeTags removes the named keys, all keys, or nothing for an empty list', async () => {
        const a = uid('tms-');
        await putTags(store.db, owner(a), [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
          { key: 'c', value: '3' },
        ]);
        await removeTags(store.db, a, []);
        assert.equal(await countTags(store.db, a), 3);
        await removeTags(store.db, a, ['a', 'missing']);
        assert.deepEqual(
          (await tagsOf(store.db, [a])).get(a)?.map((t) => t.key),
          ['b', 'c'],
        );
        await removeTags(store.db, a, 'all');
        assert.equal(await countTags(second.db, a), 0);
      });
    });

    describe('filterState', () => {
      async function filter(status: string, ruleStatuses: string[], accountId = '1'): Promise<string> {
        const id = uid('tmf-');
        await store.db
          .insertInto('traffic_mirror_filters')
          .values({
            id,
            account_id: accountId,
            region_id: 'cn-hangzhou',
            name: '',
            description: '',
            resource_group_id: 'rg-1',
            status,
            created_at: 1_000,
          })
          .execute();
        let priority = 1;
        for (const s of ruleStatuses) {
          await store.db
            .insertInto('traffic_mirror_filter_rules')
            .values({
              id: uid('tmr-'),
              filter_id: id,
              direction: 'ingress',
              rule_action: 'accept',
              protocol: 'ALL',
              priority: priority++,
              source_cidr_block: '0.0.0.0/0',
              destination_cidr_block: '0.0.0.0/0',
              source_port_range: '-1/-1',
              destination_port_range: '-1/-1',
              ip_version: 'IPv4',
              status: s,
              created_at: 1_000,
            })
            .execute();
        }
        return id;
      }

      test('filterState reports a Created filter with settled rules as not busy', async () => {
        const id = await filter('Created', ['Created', 'Created']);
        assert.deepEqual(await filterState(store.db, '1', 'cn-hangzhou', id), {
          id,
          status: 'Created',
          busy: false,
        });
      });

      test('filterState reports a filter with a changing rule as busy', async () => {
        for (const ruleStatus of ['Creating', 'Modifying', 'Deleting']) {
          const id = await filter('Created', ['Created', ruleStatus]);
          assert.deepEqual(await filterState(second.db, '1', 'cn-hangzhou', id), {
            id,
            status: 'Created',
            busy: true,
          });
        }
      });

      test('filterState reports a filter that is not Created as busy with its status', async () => {
        const id = await filter('Deleting', []);
        assert.deepEqual(await filterState(store.db, '1', 'cn-hangzhou', id), {
          id,
          status: 'Deleting',
          busy: true,
        });
      });

      test('filterState does not see a missing filter or one of another account or region', async () => {
        const id = await filter('Created', [], '2');
        assert.equal(await filterState(store.db, '1', 'cn-hangzhou', id), undefined);
        assert.equal(await filterState(store.db, '2', 'cn-hongkong', id), undefined);
        assert.equal(await filterState(store.db, '1', 'cn-hangzhou', 'tmf-missing'), undefined);
        assert.ok(await filterState(store.db, '2', 'cn-hangzhou', id));
      });
    });

    describe('lifecycle', () => {
      beforeEach(async () => {
        await store.db.deleteFrom('transitions').execute();
      });

      async function schedule(
        lc: Lifecycle,
        type: ResourceKind,
        id: string,
        kind: 'ready' | 'delete',
        action: 'create' | 'update' | 'delete',
        now: number,
      ): Promise<void> {
        await store.db.transaction().execute((tx) => lc.schedule(tx, type, id, kind, action, now));
      }

      test('schedule with a delay stores a due transition and runDue applies it when due, once', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { 'session.create': 5_000, default: 1_000 }, applier);
        const id = uid('tms-');
        await schedule(lc, 'session', id, 'ready', 'create', 10_000);
        assert.deepEqual(await lc.pending(), [
          { resourceType: 'session', resourceId: id, kind: 'ready', dueAt: 15_000 },
        ]);
        assert.equal(await lc.runDue(14_999), 0);
        assert.equal(applier.count('ready', id), 0);
        assert.equal(await lc.runDue(15_000), 1);
        assert.equal(applier.count('ready', id), 1);
        assert.equal(await lc.runDue(99_999), 0);
        assert.equal(applier.count('ready', id), 1);
        assert.deepEqual(await lc.pending(), []);
      });

      test('with the group commit, due transitions on SQLite share one commit; a failing one is rolled back alone', async () => {
        const applier = new CountingApplier();
        const logLines: string[] = [];
        const writes = writesFor(store.db, store.dialect);
        const lc = lifecycleOn(store, { default: 10 }, applier, logLines, writes);
        const ids = [uid('tms-'), uid('tms-'), uid('tms-')];
        for (const id of ids) await schedule(lc, 'session', id, 'delete', 'delete', 0);
        applier.failFor.add(ids[1] ?? '');
        assert.equal(await lc.runDue(10), 2);
        assert.equal(applier.count('delete', ids[0] ?? ''), 1);
        assert.equal(applier.count('delete', ids[2] ?? ''), 1);
        assert.equal(applier.transactions.size, store.dialect === 'sqlite' ? 1 : 3);
        assert.ok(logLines.some((l) => l.includes('transition failed')));
        assert.deepEqual(
          (await lc.pending()).map((p) => p.resourceId),
          [ids[1]],
          'the failed one is still due, its claim rolled back with it',
        );
        const marks = await second.db
          .selectFrom('tags')
          .select('resource_id')
          .where('resource_type', '=', 'applied')
          .where('resource_id', 'in', ids)
          .execute();
        assert.deepEqual(marks.map((m) => m.resource_id).sort(), [ids[0], ids[2]].sort());
      });

      test('schedule falls back to the default delay and runDue applies due transitions only', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { 'session.delete': 100, default: 1_000 }, applier);
        const soon = uid('tms-');
        const later = uid('tmf-');
        await schedule(lc, 'session', soon, 'delete', 'delete', 0);
        await schedule(lc, 'filter', later, 'ready', 'create', 0);
        assert.equal(lc.delayFor('filter', 'create'), 1_000);
        assert.equal(await lc.runDue(500), 1);
        assert.equal(applier.count('delete', soon), 1);
        assert.equal(applier.count('ready', later), 0);
        assert.deepEqual(
          (await lc.pending()).map((p) => p.resourceId),
          [later],
        );
        assert.equal(await lc.runDue(1_000), 1);
        assert.equal(applier.count('ready', later), 1);
      });

      test('schedule with delay 0 applies the transition inside the caller transaction', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { default: 0 }, applier);
        const id = uid('tms-');
        await schedule(lc, 'session', id, 'ready', 'create', 0);
        assert.equal(applier.count('ready', id), 1);
        assert.deepEqual(await lc.pending(), []);

        // Rolled back with the caller: the applier's write is gone too.
        const rolledBack = uid('tms-');
        await assert.rejects(
          store.db.transaction().execute(async (tx) => {
            await lc.schedule(tx, 'session', rolledBack, 'ready', 'create', 0);
            throw new Error('caller failed');
          }),
          /caller failed/,
        );
        assert.equal(await countTags(store.db, rolledBack), 0);
      });

      test('schedule in manual mode waits for advance, which applies only what it is asked to', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { default: 'manual' }, applier);
        const a = uid('tms-');
        const b = uid('tms-');
        await schedule(lc, 'session', a, 'ready', 'create', 0);
        await schedule(lc, 'session', b, 'delete', 'delete', 0);
        assert.equal(
          (await lc.pending()).every((p) => p.dueAt === null),
          true,
        );
        assert.equal(await lc.runDue(Number.MAX_SAFE_INTEGER), 0);
        assert.equal(await lc.advance({ resourceId: b }), 1);
        assert.equal(applier.count('delete', b), 1);
        assert.equal(applier.count('ready', a), 0);
        assert.equal(await lc.advance({ resourceType: 'filter' }), 0);
        assert.equal(await lc.advance(), 1);
        assert.equal(applier.count('ready', a), 1);
        assert.equal(await lc.advance(), 0);
      });

      test('a later schedule replaces the pending transition of the same resource', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { default: 'manual' }, applier);
        const id = uid('tms-');
        await schedule(lc, 'session', id, 'ready', 'create', 0);
        await schedule(lc, 'session', id, 'delete', 'delete', 0);
        assert.equal(await lc.advance(), 1);
        assert.equal(applier.count('ready', id), 0);
        assert.equal(applier.count('delete', id), 1);
      });

      test('rescheduleManual gives waiting transitions a due time when this node times their action', async () => {
        const applier = new CountingApplier();
        const before = lifecycleOn(store, { default: 'manual' }, applier);
        const created = uid('tms-');
        const deleted = uid('tms-');
        await schedule(before, 'session', created, 'ready', 'create', 0);
        await schedule(before, 'session', deleted, 'delete', 'delete', 0);
        // A restart where creates are timed but deletes stay manual.
        const after = lifecycleOn(store, { default: 'manual', 'session.create': 300 }, applier);
        assert.equal(await after.rescheduleManual(1_000), 1);
        assert.equal(await after.runDue(1_299), 0);
        assert.equal(await after.runDue(1_300), 1);
        assert.equal(applier.count('ready', created), 1);
        assert.equal(applier.count('delete', deleted), 0);
        assert.deepEqual(await after.pending(), [
          { resourceType: 'session', resourceId: deleted, kind: 'delete', dueAt: null },
        ]);
      });

      test('rescheduleManual times a waiting delete recorded without its action (before migration 0002) as a delete', async () => {
        const applier = new CountingApplier();
        const before = lifecycleOn(store, { default: 'manual' }, applier);
        const deleted = uid('tms-');
        await schedule(before, 'session', deleted, 'delete', 'delete', 0);
        await store.db
          .updateTable('transitions')
          .set({ action: null })
          .where('resource_id', '=', deleted)
          .execute();
        const after = lifecycleOn(store, { default: 'manual', 'session.delete': 200 }, applier);
        assert.equal(await after.rescheduleManual(1_000), 1);
        assert.equal(await after.runDue(1_200), 1);
        assert.equal(applier.count('delete', deleted), 1);
      });

      test('retime, as the admin endpoint changes delays, gives waiting transitions of actions it now times a due time', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { default: 'manual' }, applier);
        const id = uid('tms-');
        await schedule(lc, 'session', id, 'ready', 'create', 0);
        assert.equal(await lc.retime({ 'session.delete': 50 }), 0, 'creates are still manual');
        assert.equal(await lc.retime({ default: 50 }), 1);
        assert.deepEqual(
          (await lc.pending()).map((p) => [p.resourceId, p.dueAt]),
          [[id, 50]],
        );
        assert.equal(await lc.runDue(50), 1);
        assert.equal(applier.count('ready', id), 1);
      });

      test('transitions that keep failing do not hold up those due after them, and are tried again after a pause that doubles', async () => {
        const attempts = new Map<string, number>();
        const failing = new Set<string>();
        const inner = new CountingApplier();
        const applier: Appliers = {
          ready: (tx, id) => {
            attempts.set(id, (attempts.get(id) ?? 0) + 1);
            if (failing.has(id)) return Promise.reject(new Error(`applier refuses ${id}`));
            return inner.ready(tx, id);
          },
          delete: (tx, id) => inner.delete(tx, id),
        };
        const lc = lifecycleOn(store, { default: 10 }, applier);
        // More failing ones than a page of the worker (100), all due before the good one.
        const bad = Array.from({ length: 120 }, () => uid('tmf-'));
        for (const id of bad) {
          failing.add(id);
          await schedule(lc, 'filter', id, 'ready', 'create', 0);
        }
        const good = uid('tmf-');
        await schedule(lc, 'filter', good, 'ready', 'create', 5);
        assert.equal(await lc.runDue(15), 1);
        assert.equal(inner.count('ready', good), 1);
        assert.ok(
          bad.every((id) => attempts.get(id) === 1),
          'each failing one was tried once in the pass',
        );
        assert.equal(await lc.runDue(15 + 999), 0);
        assert.ok(
          bad.every((id) => attempts.get(id) === 1),
          'not again within a second',
        );
        assert.equal(await lc.runDue(15 + 1_000), 0);
        assert.ok(
          bad.every((id) => attempts.get(id) === 2),
          'again after a second',
        );
        assert.equal(await lc.runDue(15 + 1_000 + 1_999), 0);
        assert.ok(
          bad.every((id) => attempts.get(id) === 2),
          'the second pause is two seconds',
        );
        failing.clear();
        assert.equal(await lc.runDue(15 + 1_000 + 2_000), bad.length);
        assert.deepEqual(await lc.pending(), []);
      });

      test('the pauses of failing transitions are remembered for a bounded number: beyond it a failure is tried again at the next pass, and the remembered keep their pauses', async () => {
        const attempts = new Map<string, number>();
        const applier: Appliers = {
          ready: (_tx, id) => {
            attempts.set(id, (attempts.get(id) ?? 0) + 1);
            return Promise.reject(new Error(`applier refuses ${id}`));
          },
          delete: () => Promise.resolve(),
        };
        const lc = lifecycleOn(store, { default: 10 }, applier, undefined, undefined, 2);
        const ids = [uid('tmf-'), uid('tmf-'), uid('tmf-')];
        const tried = () => ids.map((id) => attempts.get(id) ?? 0);
        // Due in this order, so they fail in this order: a memory of two keeps the first two.
        for (const [i, id] of ids.entries()) await schedule(lc, 'filter', id, 'ready', 'create', i);
        assert.equal(await lc.runDue(15), 0);
        assert.deepEqual(tried(), [1, 1, 1]);
        assert.equal(await lc.runDue(16), 0);
        assert.deepEqual(tried(), [1, 1, 2], 'only the one not remembered is tried at the next pass');
        assert.equal(await lc.runDue(17), 0);
        assert.deepEqual(tried(), [1, 1, 3]);
        assert.equal(await lc.runDue(15 + 1_000), 0);
        assert.deepEqual(tried(), [2, 2, 4], 'the remembered ones again after their pause');
        assert.equal(await lc.runDue(15 + 1_001), 0);
        assert.deepEqual(tried(), [2, 2, 5], 'and then pause for two seconds');
        // The two remembered ones go away by another path: once their retry has been due for
        // longer than the longest pause (a minute), they are forgotten and make room.
        for (const id of ids.slice(0, 2))
          await store.db.transaction().execute((tx) => lc.cancel(tx, 'filter', id));
        const later = 15 + 1_000 + 2_000 + 60_001;
        assert.equal(await lc.runDue(later), 0);
        assert.deepEqual(tried(), [2, 2, 6]);
        assert.equal(await lc.runDue(later + 1), 0);
        assert.deepEqual(tried(), [2, 2, 6], 'the third one is remembered now, and keeps its pause');
      });

      test('a stop ends a pass of the worker at its next claim, and what is left stays due', async () => {
        const inner = new CountingApplier();
        let lc: Lifecycle | undefined;
        let stopped: Promise<void> | undefined;
        const applier: Appliers = {
          ready: async (tx, id) => {
            stopped ??= lc?.stop();
            await inner.ready(tx, id);
          },
          delete: (tx, id) => inner.delete(tx, id),
        };
        lc = lifecycleOn(store, { default: 10 }, applier);
        const ids = Array.from({ length: 250 }, () => uid('tmf-'));
        for (const id of ids) await schedule(lc, 'filter', id, 'ready', 'create', 0);
        const applied = await lc.runDue(10);
        await stopped;
        // SQLite claims a page of 100 together in one commit; PostgreSQL one at a time.
        assert.equal(applied, store.dialect === 'sqlite' ? 100 : 1);
        assert.equal((await lc.pending()).length, ids.length - applied);
        assert.equal(await lifecycleOn(store, { default: 10 }, inner).runDue(10), ids.length - applied);
        assert.deepEqual(await lc.pending(), []);
      });

      test('a transition scheduled later does not put off the wake-up of one due sooner', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
        let now = 1_000_000;
        const applier = new CountingApplier();
        const lc = new Lifecycle(
          store.db,
          store.dialect,
          { default: 40 },
          () => now,
          createLogger('silent'),
          60_000,
        );
        lc.register('filter', applier);
        lc.start();
        try {
          const soon = uid('tmf-');
          await store.db
            .transaction()
            .execute((tx) => lc.schedule(tx, 'filter', soon, 'ready', 'create', now));
          lc.setTiming({ default: 5_000 });
          const later = uid('tmf-');
          await store.db
            .transaction()
            .execute((tx) => lc.schedule(tx, 'filter', later, 'ready', 'create', now));
          now += 41;
          t.mock.timers.tick(41);
          // The pass it woke runs on the store's own time (performance.now() is not mocked).
          const until = performance.now() + 10_000;
          while (applier.count('ready', soon) === 0 && performance.now() < until)
            await new Promise((resolve) => setImmediate(resolve));
          assert.equal(applier.count('ready', soon), 1, 'woken for the sooner one');
          assert.equal(applier.count('ready', later), 0);
        } finally {
          await lc.stop();
          t.mock.timers.reset();
          await lc.advance({ resourceType: 'filter' });
        }
      });

      test('cancel drops a pending transition', async () => {
        const applier = new CountingApplier();
        const lc = lifecycleOn(store, { default: 'manual' }, applier);
        const id = uid('tms-');
        await schedule(lc, 'session', id, 'ready', 'create', 0);
        await store.db.transaction().execute((tx) => lc.cancel(tx, 'session', id));
        assert.equal(await lc.advance(), 0);
        assert.equal(applier.count('ready', id), 0);
      });

      test('a failing applier leaves its transition pending, logs it, and does not stop the others', async () => {
        const applier = new CountingApplier();
        const lines: string[] = [];
        const lc = lifecycleOn(store, { default: 10 }, applier, lines);
        const bad = uid('tms-');
        const good = uid('tms-');
        applier.failFor.add(bad);
        await schedule(lc, 'session', bad, 'ready', 'create', 0);
        await schedule(lc, 'session', good, 'ready', 'create', 0);
        assert.equal(await lc.runDue(100), 1);
        assert.equal(applier.count('ready', good), 1);
        assert.deepEqual(
          (await lc.pending()).map((p) => p.resourceId),
          [bad],
        );
        assert.ok(lines.some((l) => l.includes('transition failed') && l.includes(bad)));
        applier.failFor.clear();
        assert.equal(await lc.runDue(100), 0, 'not again before its pause');
        assert.equal(await lc.runDue(1_100), 1);
        assert.equal(applier.count('ready', bad), 1);
      });

      test('runDue from two lifecycles on one database applies each due transition exactly once', async () => {
        const applierA = new CountingApplier();
        const applierB = new CountingApplier();
        const a = lifecycleOn(store, { default: 10 }, applierA);
        const b = lifecycleOn(second, { default: 10 }, applierB);
        const ids: string[] = [];
        for (let i = 0; i < 60; i++) {
          const id = uid('tms-');
          ids.push(id);
          await schedule(a, 'session', id, i % 2 === 0 ? 'ready' : 'delete', 'create', i);
        }
        const [na, nb] = await Promise.all([a.runDue(1_000), b.runDue(1_000)]);
        assert.equal(na + nb, ids.length, `A applied ${na}, B applied ${nb}`);
        for (const [i, id] of ids.entries()) {
          const kind = i % 2 === 0 ? 'ready' : 'delete';
          assert.equal(applierA.count(kind, id) + applierB.count(kind, id), 1, `${kind} ${id}`);
        }
        assert.equal(await countRows(store.db, 'transitions'), 0);
      });

      test('advance and runDue racing on two lifecycles apply each transition exactly once', async () => {
        const applierA = new CountingApplier();
        const applierB = new CountingApplier();
        const a = lifecycleOn(store, { default: 10 }, applierA);
        const b = lifecycleOn(second, { default: 10 }, applierB);
        const ids: string[] = [];
        for (let i = 0; i < 30; i++) {
          const id = uid('tms-');
          ids.push(id);
          await schedule(a, 'session', id, 'ready', 'create', 0);
        }
        const [na, nb] = await Promise.all([a.advance(), b.runDue(1_000)]);
        assert.equal(na + nb, ids.length);
        for (const id of ids) assert.equal(applierA.count('ready', id) + applierB.count('ready', id), 1, id);
      });
    });
  });
}
