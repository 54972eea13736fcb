/**
 * authenticate() against the RAM generation, with a credential cache and a nonce recorder whose
 * every answer the test decides: the checks run on cached rows, the generation read with the nonce
 * batch decides whether they still hold, and a refusal that a cached row decided is confirmed on
 * current rows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AuthRequest, type AuthSources, authenticate } from '../../src/auth/authenticate.js';
import type { CredentialView } from '../../src/auth/credential-cache.js';
import type { NonceAnswer } from '../../src/auth/nonce-batcher.js';
import { isApiError } from '../../src/protocol/api-error.js';
import { parseParams } from '../../src/protocol/params.js';
import type { AccessKeyRow } from '../../src/store/credentials.repo.js';
import { authRequestOf, loadVectors, type Vector } from '../helpers/capture.js';

/** DeleteTrafficMirrorSession as the official V3 client signed it (test/fixtures/vectors). */
const VECTOR = vector('vpc7-v3-DeleteTrafficMirrorSession');
const KEY_ID = VECTOR.credentials.accessKeyId;
const SECRET = VECTOR.credentials.accessKeySecret;
// The capture is old: its timestamp is not what these tests are about.
const SETTINGS = { maxSkewMs: 15 * 60_000, checkTimestamp: false, checkNonce: true };

function row(status: 'Active' | 'Inactive', secret = SECRET): AccessKeyRow {
  return {
    access_key_id: KEY_ID,
    secret,
    account_id: '1000000000000009',
    user_name: null,
    role_name: null,
    status,
    security_token: null,
    expires_at: null,
    session_policy: null,
    created_at: 0,
  };
}

function vector(id: string): Vector {
  const v = loadVectors().find((x) => x.id === id);
  if (!v) throw new Error(`vector ${id} is missing`);
  return v;
}

function signed(): AuthRequest {
  return authRequestOf(VECTOR.request);
}

/** A cache whose epochs hold the given key row, and which counts what was asked of it. */
function fakeCache(epochs: Record<number, AccessKeyRow | undefined>, start: number) {
  const calls = { fresh: 0, observe: [] as number[], lookups: [] as number[] };
  let current = start;
  let latest = start;
  const viewOf = (generation: number): CredentialView => ({
    generation,
    accessKey: async () => {
      calls.lookups.push(generation);
      return epochs[generation];
    },
    policies: async () => [],
  });
  const cache: AuthSources['credentials'] = {
    cached: () => viewOf(current),
    fresh: async () => {
      calls.fresh++;
      current = latest;
      return viewOf(current);
    },
    observe: (generation) => {
      calls.observe.push(generation);
      current = generation;
      return viewOf(current);
    },
  };
  return {
    cache,
    calls,
    /** What a fresh read of the generation answers from now on. */
    moveTo(generation: number) {
      latest = generation;
    },
  };
}

function recorder(answer: NonceAnswer) {
  const recorded: string[] = [];
  return {
    recorded,
    nonces: {
      record: async (use: { nonce: string }) => {
        recorded.push(use.nonce);
        return answer;
      },
    },
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isApiError(e)) return e.code;
    throw e;
  }
  return 'OK';
}

describe('authenticate and the RAM generation', () => {
  test('when the batch reads the same generation, the cached row decides and nothing is read again', async () => {
    const c = fakeCache({ 5: row('Active') }, 5);
    const n = recorder({ fresh: true, ramGeneration: 5 });
    const r = await authenticate({ credentials: c.cache, nonces: n.nonces }, signed(), SETTINGS, Date.now());
    assert.equal(r.principal.accessKeyId, KEY_ID);
    assert.equal(r.credentials.generation, 5);
    assert.deepEqual(c.calls.lookups, [5]);
    assert.equal(c.calls.fresh, 0);
    assert.equal(n.recorded.length, 1);
  });

  test('when the batch reads a newer generation, the request is checked again on current rows', async () => {
    // Cached: Active. Since then the key was disabled (generation 6).
    const c = fakeCache({ 5: row('Active'), 6: row('Inactive') }, 5);
    const n = recorder({ fresh: true, ramGeneration: 6 });
    const code = await codeOf(
      authenticate({ credentials: c.cache, nonces: n.nonces }, signed(), SETTINGS, Date.now()),
    );
    assert.equal(code, 'InvalidAccessKeyId.Inactive');
    assert.deepEqual(c.calls.observe, [6]);
    assert.deepEqual(c.calls.lookups, [5, 6]);
    assert.equal(n.recorded.length, 1, 'the nonce was recorded before the change showed');
  });

  test('a refusal decided on a cached row is confirmed on current rows, and passes when they allow it', async () => {
    const c = fakeCache({ 5: row('Inactive'), 6: row('Active') }, 5);
    c.moveTo(6);
    const n = recorder({ fresh: true, ramGeneration: 6 });
    const r = await authenticate({ credentials: c.cache, nonces: n.nonces }, signed(), SETTINGS, Date.now());
    assert.equal(r.credentials.generation, 6);
    assert.equal(c.calls.fresh, 1);
    assert.deepEqual(c.calls.lookups, [5, 6]);
  });

  test('a refusal that still holds on current rows stands, with its own code', async () => {
    // The key's secret is not the one the client signed with.
    const c = fakeCache({ 5: row('Active', 'another-secret') }, 5);
    const n = recorder({ fresh: true, ramGeneration: 5 });
    const code = await codeOf(
      authenticate({ credentials: c.cache, nonces: n.nonces }, signed(), SETTINGS, Date.now()),
    );
    assert.equal(code, 'SignatureDoesNotMatch');
    assert.equal(c.calls.fresh, 1, 'one read to confirm');
    assert.equal(n.recorded.length, 0, 'no nonce for a refused signature');
  });

  test('a refusal no row decided costs no read: an unknown key, a request without signature', async () => {
    const c = fakeCache({}, 5);
    const n = recorder({ fresh: true, ramGeneration: 5 });
    assert.equal(
      await codeOf(authenticate({ credentials: c.cache, nonces: n.nonces }, signed(), SETTINGS, Date.now())),
      'InvalidAccessKeyId.NotFound',
    );
    const bare: AuthRequest = {
      method: 'GET',
      header: () => [],
      params: parseParams('Action=DescribeRegions', Buffer.alloc(0), undefined),
      body: Buffer.alloc(0),
    };
    assert.equal(
      await codeOf(authenticate({ credentials: c.cache, nonces: n.nonces }, bare, SETTINGS, Date.now())),
      'MissingAccessKeyId',
    );
    assert.equal(c.calls.fresh, 0);
  });

  test('when the batch could not read the generation, the request reads it itself', async () => {
    const c = fakeCache({ 5: row('Active'), 6: row('Inactive') }, 5);
    c.moveTo(6);
    const n = recorder({ fresh: true, ramGeneration: undefined });
    const code = await codeOf(
      authenticate({ credentials: c.cache, nonces: n.nonces }, signed(), SETTINGS, Date.now()),
    );
    assert.equal(code, 'InvalidAccessKeyId.Inactive');
    assert.equal(c.calls.fresh, 1);
  });

  test('a replayed nonce is refused after the checks on current rows, so their refusal comes first', async () => {
    const c = fakeCache({ 5: row('Active'), 6: row('Inactive') }, 5);
    const replayed = recorder({ fresh: false, ramGeneration: 6 });
    assert.equal(
      await codeOf(
        authenticate({ credentials: c.cache, nonces: replayed.nonces }, signed(), SETTINGS, Date.now()),
      ),
      'InvalidAccessKeyId.Inactive',
    );
    const c2 = fakeCache({ 5: row('Active') }, 5);
    const again = recorder({ fresh: false, ramGeneration: 5 });
    assert.equal(
      await codeOf(
        authenticate({ credentials: c2.cache, nonces: again.nonces }, signed(), SETTINGS, Date.now()),
      ),
      'SignatureNonceUsed',
    );
  });
});
