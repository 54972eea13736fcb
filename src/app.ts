/**
 * Wiring only: builds the pipeline's dependencies from the config and a store. No listening here
 * (server.ts does that), so tests can drive the same app in-process.
 */
import type { RegisteredOperation } from './api/operation.js';
import { ALL_OPERATION_GROUPS, buildRegistry } from './api/registry.js';
import type { Config } from './config.js';
import { Lifecycle } from './lifecycle/lifecycle.js';
import type { Logger } from './logger.js';
import { type PipelineDeps, type PipelineResult, runPipeline } from './pipeline.js';
import type { RpcRequest } from './protocol/request.js';
import { sweepTokens } from './store/client-tokens.repo.js';
import { sweepNonces } from './store/replay.repo.js';
import type { Store } from './store/store.js';
import { registerTrafficMirror } from './vpc/traffic-mirror/register.js';

export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly lifecycle: Lifecycle;
  readonly log: Logger;
  readonly operations: ReadonlyMap<string, RegisteredOperation>;
  handle(req: RpcRequest): Promise<PipelineResult>;
  /** Starts background work: the transition worker and the sweeper of expired records. */
  start(): void;
  stop(): Promise<void>;
}

export function createApp(config: Config, store: Store, log: Logger, clock: () => number = Date.now): App {
  const lifecycle = new Lifecycle(
    store.db,
    store.dialect,
    config.transitions,
    clock,
    log,
    config.workerIntervalMs,
  );
  registerTrafficMirror(lifecycle);
  const operations = buildRegistry(ALL_OPERATION_GROUPS);
  const deps: PipelineDeps = {
    db: store.db,
    operations,
    services: { lifecycle, limits: config.limits, regions: config.regions },
    auth: {
      maxSkewMs: config.maxSkewMs,
      nonceTtlMs: config.nonceTtlMs,
      checkTimestamp: config.checkTimestamp,
      checkNonce: config.checkNonce,
    },
    regions: new Set(config.regions),
    ramEnforced: config.ramEnforced,
    hostId: config.hostId,
    clientTokenTtlMs: config.clientTokenTtlMs,
    clock,
    onInternalError: (err, requestId) => log.error({ err, requestId }, 'internal error'),
  };
  let sweeper: NodeJS.Timeout | undefined;
  return {
    config,
    store,
    lifecycle,
    log,
    operations,
    handle: (req) => runPipeline(deps, req),
    start() {
      lifecycle.start();
      const sweep = () => {
        const now = clock();
        Promise.all([sweepNonces(store.db, now), sweepTokens(store.db, now)]).catch((err: unknown) =>
          log.warn({ err }, 'sweeping expired nonces and tokens failed'),
        );
      };
      sweeper = setInterval(sweep, 60_000);
      sweeper.unref();
    },
    async stop() {
      clearInterval(sweeper);
      await lifecycle.stop();
    },
  };
}
