/**
 * Where an SQLite store is checkpointed (--sqlite-checkpoints / VPCMIRROR_SQLITE_CHECKPOINTS): the
 * default, the flag over the environment, a refused value, and what the server then asks of the
 * store.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { serverStoreOptions } from '../../src/cli/serve.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

const log = createLogger('info', new Writable({ write: (_c, _e, done) => done() }));

describe('--sqlite-checkpoints', () => {
  test('a thread of its own by default; the environment or the flag can say inline, and the flag wins', () => {
    assert.equal(loadConfig({}, {}).sqliteCheckpoints, 'thread');
    assert.equal(loadConfig({}, { VPCMIRROR_SQLITE_CHECKPOINTS: 'inline' }).sqliteCheckpoints, 'inline');
    assert.equal(
      loadConfig({ 'sqlite-checkpoints': 'thread' }, { VPCMIRROR_SQLITE_CHECKPOINTS: 'inline' })
        .sqliteCheckpoints,
      'thread',
    );
  });

  test('any other value is refused by name', () => {
    assert.throws(
      () => loadConfig({ 'sqlite-checkpoints': 'sometimes' }, {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === '--sqlite-checkpoints must be thread or inline, got "sometimes"',
    );
  });

  test('a refused value is named by where it came from: the flag, or the environment variable', () => {
    const refuses = (flags: Record<string, string>, env: Record<string, string>, message: string) =>
      assert.throws(
        () => loadConfig(flags, env),
        (e: unknown) => e instanceof ConfigError && e.message === message,
      );
    refuses({}, { VPCMIRROR_PORT: 'abc' }, 'VPCMIRROR_PORT must be a non-negative whole number, got "abc"');
    refuses({ port: 'abc' }, {}, '--port must be a non-negative whole number, got "abc"');
    refuses(
      {},
      { VPCMIRROR_MAX_SKEW_MS: '-1' },
      'VPCMIRROR_MAX_SKEW_MS must be a non-negative whole number, got "-1"',
    );
    refuses(
      {},
      { VPCMIRROR_SQLITE_CHECKPOINTS: 'no' },
      'VPCMIRROR_SQLITE_CHECKPOINTS must be thread or inline, got "no"',
    );
    assert.equal(loadConfig({ 'max-skew': '1000', 'nonce-ttl': '2000' }, {}).maxSkewMs, 1000);
    refuses(
      {},
      { VPCMIRROR_ACCESS_KEY_ID: 'only-the-id' },
      'set both VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET, or neither',
    );
    refuses(
      {},
      { VPCMIRROR_ACCESS_KEY_SECRET: 'only-the-secret' },
      'set both VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET, or neither',
    );
  });

  test('the server asks its store for background checkpoints only with thread', () => {
    const thread = serverStoreOptions(loadConfig({ database: 'x.sqlite' }, {}), log);
    assert.equal(thread.location, 'x.sqlite');
    assert.equal(typeof thread.backgroundCheckpoints?.onError, 'function');
    const inline = serverStoreOptions(
      loadConfig({ database: 'x.sqlite', 'sqlite-checkpoints': 'inline' }, {}),
      log,
    );
    assert.equal(inline.backgroundCheckpoints, undefined);
  });
});

describe('--transitions', () => {
  test('takes a delay per timed action, and refuses a key no operation schedules (filter.update)', () => {
    const c = loadConfig({ transitions: 'default=0,session.delete=manual,rule.update=2s' }, {});
    assert.deepEqual(c.transitions, { default: 0, 'session.delete': 'manual', 'rule.update': 2000 });
    assert.throws(
      () => loadConfig({ transitions: 'filter.update=1s' }, {}),
      (e: unknown) => e instanceof ConfigError && /unknown transition key "filter\.update"/.test(e.message),
    );
  });
});

describe('--limits', () => {
  test('the quotas keep their defaults unless named; the flag wins over the variable; an unknown name or a bad number is refused', () => {
    assert.deepEqual(loadConfig({}, {}).limits, {
      sourcesPerSession: 10,
      sessionsPerSource: 3,
      filtersPerRegion: 100,
      sessionsPerRegion: 1000,
    });
    assert.deepEqual(
      loadConfig(
        { limits: 'sessionsPerRegion=5000, sessionsPerSource=1' },
        { VPCMIRROR_LIMITS: 'filtersPerRegion=7' },
      ).limits,
      { sourcesPerSession: 10, sessionsPerSource: 1, filtersPerRegion: 100, sessionsPerRegion: 5000 },
    );
    assert.equal(loadConfig({}, { VPCMIRROR_LIMITS: 'filtersPerRegion=7' }).limits.filtersPerRegion, 7);
    assert.throws(
      () => loadConfig({ limits: 'rulesPerFilter=20' }, {}),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message ===
          '--limits: unknown limit "rulesPerFilter" (known: sourcesPerSession, sessionsPerSource, filtersPerRegion, sessionsPerRegion)',
    );
    for (const bad of ['0', '-1', '1.5', '1e3', '', String(2 ** 31)])
      assert.throws(
        () => loadConfig({}, { VPCMIRROR_LIMITS: `sessionsPerSource=${bad}` }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message ===
            `VPCMIRROR_LIMITS: sessionsPerSource must be a whole number from 1 to 2147483647, got "${bad}"`,
        bad,
      );
  });
});

describe('timer lengths', () => {
  test('a delay longer than a timer can wait is refused (manual is the way to say never), and so is a worker interval of 0 or past it', () => {
    assert.equal(loadConfig({ transitions: `default=${2 ** 31 - 1}` }, {}).transitions.default, 2 ** 31 - 1);
    for (const transitions of [`default=${2 ** 31}`, 'session.create=10000000000000000s'])
      assert.throws(
        () => loadConfig({ transitions }, {}),
        (e: unknown) =>
          e instanceof ConfigError && /at most 2147483647 ms \(about 24 days\), or "manual"/.test(e.message),
        transitions,
      );
    assert.equal(loadConfig({ 'worker-interval': '1' }, {}).workerIntervalMs, 1);
    for (const interval of ['0', String(2 ** 31)])
      assert.throws(
        () => loadConfig({ 'worker-interval': interval }, {}),
        (e: unknown) =>
          e instanceof ConfigError && /--worker-interval must be 1-2147483647 ms/.test(e.message),
        interval,
      );
    assert.throws(
      () => loadConfig({}, { VPCMIRROR_WORKER_INTERVAL_MS: '0' }),
      /VPCMIRROR_WORKER_INTERVAL_MS must be 1-2147483647 ms, got 0/,
    );
  });
});

describe('--pg-statement-deadline', () => {
  test("30 s by default; the flag or the variable sets it, and the server's store is opened with it", () => {
    assert.equal(loadConfig({}, {}).pgStatementDeadlineMs, 30_000);
    assert.equal(
      loadConfig({}, { VPCMIRROR_PG_STATEMENT_DEADLINE_MS: '90000' }).pgStatementDeadlineMs,
      90_000,
    );
    const c = loadConfig(
      { 'pg-statement-deadline': '45000' },
      { VPCMIRROR_PG_STATEMENT_DEADLINE_MS: '90000' },
    );
    assert.equal(serverStoreOptions(c, createLogger('silent')).pgStatementDeadlineMs, 45_000);
    assert.throws(
      () => loadConfig({ 'pg-statement-deadline': '0' }, {}),
      /--pg-statement-deadline must be 1-2147483647 ms, got 0/,
    );
  });
});

describe('--config', () => {
  test('an empty --config is refused rather than ignored; an empty VPCMIRROR_CONFIG counts as unset', () => {
    assert.throws(() => loadConfig({ config: '' }, {}), /--config needs a value/);
    assert.equal(loadConfig({}, { VPCMIRROR_CONFIG: '' }).configFile, undefined);
    assert.equal(loadConfig({ config: 'setup.yaml' }, {}).configFile, 'setup.yaml');
  });
});

describe('a command that only opens the store', () => {
  test('reads neither the TLS files nor checks the server key pair that the environment holds for serve', () => {
    const env = { VPCMIRROR_TLS_CERT: '/nonexistent/cert.pem', VPCMIRROR_ACCESS_KEY_ID: 'only-the-id' };
    assert.throws(() => loadConfig({}, env), ConfigError);
    const config = loadConfig({}, env, { for: 'store' });
    assert.equal(config.tls, undefined);
    // Nor any other server setting it would refuse.
    for (const [name, value] of [
      ['VPCMIRROR_PORT', '99999'],
      ['VPCMIRROR_TRANSITIONS', 'bogus'],
      ['VPCMIRROR_LOG_LEVEL', 'verbose'],
      ['VPCMIRROR_SQLITE_CHECKPOINTS', 'sometimes'],
      ['VPCMIRROR_BODY_LIMIT', '-1'],
    ] as const) {
      assert.throws(() => loadConfig({}, { [name]: value }), ConfigError, name);
      assert.doesNotThrow(() => loadConfig({}, { [name]: value }, { for: 'store' }), name);
    }
    assert.equal(
      loadConfig({}, { VPCMIRROR_DATA_DIR: '/d' }, { for: 'store' }).database,
      '/d/vpcmirror.sqlite',
    );
  });
});
