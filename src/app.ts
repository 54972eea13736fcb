/**
 * Wiring only: builds the pipeline's dependencies from the config and a store. No listening here
 * (server.ts does that), so tests can drive the same app in-process.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegisteredOperation } from './api/operation.js';
import { PageTokens } from './api/page-tokens.js';
import { ALL_OPERATION_GROUPS, buildRegistry } from './api/registry.js';
import { CredentialCache } from './auth/credential-cache.js';
import { NonceBatcher } from './auth/nonce-batcher.js';
import type { Config } from './config.js';
import { Lifecycle } from './lifecycle/lifecycle.js';
import type { Logger } from './logger.js';
import { type PipelineDeps, type PipelineResult, runPipeline } from './pipeline.js';
import type { RpcRequest } from './protocol/request.js';
import { releaseOrphanedTokens, sweepTokens } from './store/client-tokens.repo.js';
import { writesFor } from './store/group-commit.js';
import { prepareNonces, sweepNonces } from './store/replay.repo.js';
import type { Store } from './store/store.js';
import { registerTrafficMirror } from './vpc/traffic-mirror/register.js';

export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly lifecycle: Lifecycle;
  readonly log: Logger;
  readonly operations: ReadonlyMap<string, RegisteredOperation>;
  handle(req: RpcRequest): Promise<PipelineResult>;
  /** This node's identity (ClientToken ownership). */
  readonly nodeId: string;
  /**
   * Frees what this node's previous run left half-done, then starts background work: the
   * transition worker and the sweeper of expired records.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The node id: configured, or kept in the data directory so that it survives restarts. */
export function resolveNodeId(config: Config): string {
  if (config.nodeId) return config.nodeId;
  const path = join(config.dataDir, 'node-id');
  if (existsSync(path)) {
    const id = readFileSync(path, 'utf8').trim();
    if (id) return id;
  }
  const id = `node-${randomBytes(8).toString('hex')}`;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${id}\n`, { mode: 0o600 });
  return id;
}

export function createApp(config: Config, store: Store, log: Logger, clock: () => number = Date.now): App {
  const nodeId = resolveNodeId(config);
  const writes = writesFor(store.db, store.dialect);
  const lifecycle = new Lifecycle(
    store.db,
    store.dialect,
    config.transitions,
    clock,
    log,
    config.workerIntervalMs,
    writes,
  );
  registerTrafficMirror(lifecycle);
  const operations = buildRegistry(ALL_OPERATION_GROUPS);
  const deps: PipelineDeps = {
    db: store.db,
    freshReads: store.freshReads,
    writes,
    operations,
    services: { lifecycle, limits: config.limits, regions: config.regions, pageTokens: new PageTokens() },
    auth: {
      maxSkewMs: config.maxSkewMs,
      checkTimestamp: config.checkTimestamp,
      checkNonce: config.checkNonce,
    },
    credentials: new CredentialCache(store.db),
    nonces: NonceBatcher.onStore(store.db, config.nonceTtlMs),
    regions: new Set(config.regions),
    ramEnforced: config.ramEnforced,
    hostId: config.hostId,
    clientTokenTtlMs: config.clientTokenTtlMs,
    nodeId,
    clock,
    onInternalError: (err, requestId) => log.error({ err, requestId }, 'internal error'),
    onStoreUnavailable: (err, requestId) =>
      log.warn({ err, requestId }, 'the store failed for now; answered ServiceUnavailable'),
  };
  let sweeper: NodeJS.Timeout | undefined;
  let releaseNode: (() => Promise<void>) | undefined;
  return {
    config,
    store,
    lifecycle,
    log,
    operations,
    nodeId,
    handle: (req) => runPipeline(deps, req),
    async start() {
      if (config.checkNonce) prepareNonces(store.db);
      // Before anything this node's id left behind is freed: it may be another live node's.
      releaseNode = await store.claimNode(nodeId, (message) => log.warn({ nodeId }, message));
      const freed = await releaseOrphanedTokens(store.db, nodeId);
      if (freed > 0)
        log.warn({ nodeId, freed }, 'freed ClientTokens left processing by an earlier run of this node');
      const rescheduled = await lifecycle.rescheduleManual();
      if (rescheduled > 0)
        log.info({ rescheduled }, "transitions waiting for a manual advance now follow this node's timing");
      lifecycle.start();
      const sweep = () => {
        const now = clock();
        Promise.all([sweepNonces(store.db, now, config.maxSkewMs), sweepTokens(store.db, now)]).catch(
          (err: unknown) => log.warn({ err }, 'sweeping expired nonces and tokens failed'),
        );
      };
      sweeper = setInterval(sweep, 60_000);
      sweeper.unref();
    },
    async stop() {
      clearInterval(sweeper);
      await lifecycle.stop();
      await releaseNode?.();
      releaseNode = undefined;
    },
  };
}
