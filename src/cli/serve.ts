/**
 * `vpcmirror serve`: open the store, make sure there is someone to call as, start the app and
 * listen. SIGTERM and SIGINT drain in-flight requests, stop the worker and exit 0.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CREDENTIALS_FILE,
  checkDefaultKey,
  ensureDefaultCredentials,
  readCredentialsFile,
} from '../accounts/bootstrap.js';
import { applySetupFile, definesCredentials, fixedKeyIds, loadSetupFile } from '../accounts/setup-file.js';
import { type App, createApp } from '../app.js';
import {
  type Config,
  ConfigError,
  DEFAULT_DATA_DIR,
  DEFAULT_REGIONS,
  isLoopbackHost,
  loadConfig,
} from '../config.js';
import { createLogger, type Logger, linesWritten } from '../logger.js';
import { listen, type RunningServer } from '../server.js';
import { lockForRecording, prepareNonces, releaseRecordingLock } from '../store/replay.repo.js';
import { openStore, redactUrl, type Store, type StoreOptions, storeExists } from '../store/store.js';
import { VERSION } from '../version.js';
import { ENDPOINT_FILE } from './call.js';

export const SERVE_FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  database: { type: 'string' },
  'log-level': { type: 'string' },
  regions: { type: 'string' },
  transitions: { type: 'string' },
  limits: { type: 'string' },
  'admin-token': { type: 'string' },
  config: { type: 'string' },
  'no-ram': { type: 'boolean' },
  'host-id': { type: 'string' },
  'body-limit': { type: 'string' },
  'worker-interval': { type: 'string' },
  'pg-statement-deadline': { type: 'string' },
  'client-token-ttl': { type: 'string' },
  'node-id': { type: 'string' },
  'sqlite-checkpoints': { type: 'string' },
  'max-skew': { type: 'string' },
  'nonce-ttl': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** How a server opens its store: an SQLite file is checkpointed on its own thread unless told not to. */
export function serverStoreOptions(config: Config, log: Logger): StoreOptions {
  return {
    location: config.database,
    // A second server on an SQLite file a live one serves stops here, before migrating it: the
    // live one (perhaps an older version) would be left on a schema it does not know. One that
    // checks no nonces gives the lock up once migrated (startServer).
    beforeMigrate: (store: Store) => lockForRecording(store.db),
    pgStatementDeadlineMs: config.pgStatementDeadlineMs,
    onConnectionError: (message: string) =>
      log.warn({ error: message }, 'a PostgreSQL connection broke; the pool replaces it'),
    ...(config.sqliteCheckpoints === 'thread'
      ? {
          backgroundCheckpoints: {
            onError: (message: string) =>
              log.warn({ error: message }, 'a background checkpoint of the SQLite file failed'),
          },
        }
      : {}),
  };
}

/** The address a local client dials: a wildcard listener is reached through loopback. */
export function dialableEndpoint(host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function refuseGeneratedOnly(host: string): ConfigError {
  return new ConfigError(
    `refusing to listen on ${host}: the only credentials are the ones generated on first start, which nobody chose. ` +
      'Set VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET, or load accounts with --config, or listen on 127.0.0.1.',
  );
}

/** How to run this project's command from where the server was started. */
function cliCommand(): string {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // npx finds the project's own command only inside the project; elsewhere it would ask the
  // registry for a package of that name.
  return `${resolve(process.cwd())}/`.startsWith(root)
    ? 'npx vpcmirror'
    : `node ${join(root, 'bin', 'vpcmirror.js')}`;
}

/** The data directory's credentials file, or undefined when there is none or it cannot be read. */
function readCredentialsFileIfValid(dataDir: string): ReturnType<typeof readCredentialsFile> {
  try {
    return readCredentialsFile(dataDir);
  } catch {
    return undefined;
  }
}

export interface StartedServer {
  readonly running: RunningServer;
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  out: NodeJS.WritableStream = process.stdout,
): Promise<StartedServer> {
  const log = createLogger(config.logLevel, out);
  // Refusals that need no store come before the store is opened (or created) and written to.
  const setupFile = config.configFile ? loadSetupFile(config.configFile) : undefined;
  const chosen =
    (config.accessKeyId !== undefined && config.accessKeySecret !== undefined) ||
    (setupFile !== undefined && definesCredentials(setupFile)) ||
    // A pair chosen for a store that exists already; a new store would get a generated one.
    (storeExists(config.database) && readCredentialsFileIfValid(config.dataDir)?.generated === false);
  if (!isLoopbackHost(config.host) && !chosen) throw refuseGeneratedOnly(config.host);
  const store = await openStore(serverStoreOptions(config, log));
  if (!config.checkNonce) releaseRecordingLock(store.db);
  // What a failed start has to undo, in reverse: a listener still answering, and a worker still
  // running transitions, on a store about to close.
  let app: App | undefined;
  let running: RunningServer | undefined;
  let recorded: { path: string; text: string } | undefined;
  try {
    // First, before the set-up file or the default credentials write anything. (A second server
    // on an SQLite file that a running one serves has stopped already, as the store opened.)
    const loaded = config.checkNonce ? prepareNonces(store.db) : undefined;
    // A long replay window under load holds many nonces; a start that pauses to read them says so.
    if (loaded && loaded.nonces > 0) log.info(loaded, 'recent nonces loaded from the SQLite file');
    // A refused key pair stops the start before the set-up file changes anything.
    if (config.accessKeySecret !== undefined)
      await checkDefaultKey(store, config.accessKeyId, config.accessKeySecret, setupFile);
    const setup =
      config.configFile && setupFile
        ? await applySetupFile(store, config.configFile, Date.now(), undefined, setupFile)
        : undefined;
    if (setup) {
      const { changes, firstAccountId: _first, ...counts } = setup;
      log.info({ file: config.configFile, ...counts }, 'set-up file applied');
      if (changes.reenabled.length > 0)
        log.warn(
          { file: config.configFile, accessKeyIds: changes.reenabled },
          'the set-up file turned disabled AccessKeys on again (it says Active, the default); write status: Inactive in it to keep one off',
        );
      if (changes.secretReplaced.length > 0)
        log.warn(
          { file: config.configFile, accessKeyIds: changes.secretReplaced },
          'the set-up file replaced the secret of AccessKeys: clients with the old one are now refused',
        );
    }
    const creds = await ensureDefaultCredentials(
      store,
      config.dataDir,
      { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret },
      Date.now(),
      new Set(fixedKeyIds(setupFile)),
      setup?.firstAccountId,
    );
    const credentialsFile = join(config.dataDir, CREDENTIALS_FILE);
    if (creds.replaced !== undefined)
      log.warn(
        { file: credentialsFile, was: creds.replaced, now: creds.accessKeyId },
        'the credentials file named a key this store does not have (another store served from this data directory?); it now names this store’s key',
      );
    if (creds.secretReplaced)
      log.warn(
        { accessKeyId: creds.accessKeyId },
        'VPCMIRROR_ACCESS_KEY_SECRET replaced the secret this store held for the AccessKey: clients with the old one are now refused',
      );
    if (creds.inactive)
      log.warn(
        { accessKeyId: creds.accessKeyId },
        `the default AccessKey is disabled and stays so; turn it on with \`vpcmirror key enable --id ${creds.accessKeyId}\``,
      );
    if (!isLoopbackHost(config.host) && creds.generated && !setup?.definesCredentials)
      throw refuseGeneratedOnly(config.host);
    // A private cloud may name its own regions; a typo of a public one is caught here instead of
    // by every later call answering InvalidRegionId.NotFound.
    const unknownRegions = config.regions.filter((r) => !DEFAULT_REGIONS.includes(r));
    if (unknownRegions.length > 0)
      log.warn(
        { regions: unknownRegions },
        'serving regions that are not traffic mirroring regions of Alibaba Cloud (a typo?)',
      );
    app = createApp(config, store, log);
    await app.start();
    running = await listen(app, config.host, config.port);
    const endpoint = `${running.host.includes(':') ? `[${running.host}]` : running.host}:${running.port}`;
    const endpointPath = join(config.dataDir, ENDPOINT_FILE);
    const scheme = config.tls ? 'https' : 'http';
    // `call` reads the scheme from here: an HTTPS server is dialled as such.
    const endpointText = `${config.tls ? 'https://' : ''}${dialableEndpoint(running.host, running.port)}\n`;
    writeFileSync(endpointPath, endpointText, { mode: 0o600 });
    recorded = { path: endpointPath, text: endpointText };
    log.info(
      {
        endpoint,
        scheme,
        version: VERSION,
        store: store.dialect,
        database: redactUrl(store.location),
        accountId: creds.accountId,
        accessKeyId: creds.accessKeyId,
        ram: config.ramEnforced ? 'enforced' : 'off',
        // Said at start, so that a log shows whether replay and clock checks were on.
        checkTimestamp: config.checkTimestamp,
        checkNonce: config.checkNonce,
        transitions: app.lifecycle.getTiming(),
        limits: config.limits,
        regions: config.regions.length,
      },
      'vpcmirror listening',
    );
    // Log lines are written asynchronously; the readiness line must be out before the banner
    // (stderr, synchronous) tells anyone watching that the server is up.
    await new Promise<void>((resolve) => {
      const guard = setTimeout(resolve, 1000);
      void linesWritten(log).then(() => {
        clearTimeout(guard);
        resolve();
      });
    });
    // `call` finds the endpoint and the key in the data directory; the default one is found by itself.
    const dataDirFlag =
      resolve(config.dataDir) === resolve(DEFAULT_DATA_DIR) ? '' : ` --data-dir ${config.dataDir}`;
    // Over HTTPS the example must trust the server's certificate.
    const caFlag = config.tls ? ` --ca ${config.tls.certFile}` : '';
    const banner = [
      '',
      `  vpcmirror ${VERSION} is listening on ${scheme}://${endpoint}`,
      `  store:            ${store.dialect} (${redactUrl(store.location)})`,
      `  account id:       ${creds.accountId}`,
      `  AccessKey id:     ${creds.accessKeyId}${creds.inactive ? ' (disabled: calls with it are refused)' : ''}`,
      !creds.generated && config.accessKeyId !== undefined && config.accessKeySecret !== undefined
        ? '  AccessKey secret: (the one you set in VPCMIRROR_ACCESS_KEY_SECRET)'
        : creds.generated && creds.created
          ? `  AccessKey secret: ${creds.accessKeySecret} (kept in ${credentialsFile})`
          : `  AccessKey secret: in ${credentialsFile}`,
      `  RAM enforcement:  ${config.ramEnforced ? 'on' : 'OFF'}`,
      `  try:              ${cliCommand()} call DescribeRegions${dataDirFlag}${caFlag}`,
      '',
    ];
    process.stderr.write(`${banner.join('\n')}\n`);
    const [startedApp, listening] = [app, running];
    return {
      running: listening,
      async stop() {
        await listening.close();
        // A stopped server's address would send `call` to nothing, or to whatever takes the port
        // next. Left alone when another server on this data directory has written its own since.
        forgetEndpoint(endpointPath, endpointText);
        await startedApp.stop();
        await store.close();
      },
    };
  } catch (e) {
    // The address of a server that is not there would send `call` to nothing.
    if (recorded) forgetEndpoint(recorded.path, recorded.text);
    await running?.close().catch(() => undefined);
    await app?.stop().catch(() => undefined);
    await store.close();
    throw e;
  }
}

/** Removes the recorded endpoint, unless another server on the data directory wrote its own since. */
function forgetEndpoint(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) unlinkSync(path);
  } catch {}
}

/** A second stop signal sooner than this after the first is the same one, passed on by npm. */
const REPEATED_SIGNAL_MS = 1_000;

export async function serveCommand(flags: Record<string, string | boolean | undefined>): Promise<void> {
  const config = loadConfig(flags);
  // The handlers exist before the banner announces the server: a supervisor that signals as soon
  // as it sees the banner must get a clean stop, not the default kill.
  let started: StartedServer | undefined;
  let pending: string | undefined;
  let stopping = false;
  // One Ctrl-C in a terminal reaches npm and the server, and npm passes it on too: the same
  // keypress arrives twice. Only a signal a second or more after the first asks to exit now.
  // (A monotonic clock: a wall clock set back would make every later signal look like a repeat.)
  let firstSignalAt = 0;
  const repeated = () => performance.now() - firstSignalAt < REPEATED_SIGNAL_MS;
  const shutdown = (signal: string) => {
    if (!started) {
      // Startup finishes, then stops at once; a second signal does not wait for it.
      if (pending) {
        if (repeated()) return;
        process.stderr.write(`vpcmirror: ${signal} received again while starting, exiting now\n`);
        process.exit(1);
      }
      pending = signal;
      firstSignalAt = performance.now();
      return;
    }
    if (stopping) {
      if (repeated()) return;
      // In-flight requests are then cut; every answered change and every pending transition is
      // in the store already, so the next start takes over from there.
      process.stderr.write(`vpcmirror: ${signal} received again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    if (!pending) firstSignalAt = performance.now();
    // stop() stops accepting before its first await, so the line below is already true when read.
    const stopped = started.stop();
    process.stderr.write(`vpcmirror: ${signal} received, finishing in-flight requests\n`);
    stopped.then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`vpcmirror: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  const onTerm = () => shutdown('SIGTERM');
  const onInt = () => shutdown('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    started = await startServer(config);
  } catch (e) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    throw e;
  }
  if (pending) shutdown(pending);
}
