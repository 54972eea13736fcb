/**
 * What the benchmark hands its load generator (a separate process) and what comes back. The job
 * names a recipe rather than listing requests: the generator builds and signs every request
 * itself, before the timed run.
 */
import type { AccountKey } from './layout.js';
import type { CreateAccount } from './seed.js';

export type Recipe =
  /** DescribeRegions: a signed read that touches no resource table. Also what the ceiling sends. */
  | { readonly type: 'regions'; readonly key: AccountKey }
  /** ListTrafficMirrorSessions with TrafficMirrorSessionIds.1, cycling over these ids. */
  | {
      readonly type: 'listById';
      readonly key: AccountKey;
      readonly regionId: string;
      readonly ids: readonly string[];
    }
  /** CreateTrafficMirrorSession spread over these accounts and every region. */
  | { readonly type: 'create'; readonly accounts: readonly CreateAccount[] }
  /** DeleteTrafficMirrorSession of these [region, id] pairs, each once. */
  | {
      readonly type: 'delete';
      readonly key: AccountKey;
      readonly items: ReadonlyArray<readonly [string, string]>;
    };

export interface LoadJob {
  readonly label: string;
  /** `host:port` of every node; connection i goes to node i mod n. */
  readonly endpoints: readonly string[];
  readonly connections: number;
  readonly durationSec: number;
  readonly warmupSec: number;
  /** Requests to sign before anything is sent (warm-up and timed run draw from them). */
  readonly budget: number;
  /**
   * Reuse the signed requests in a loop instead of running out. Only for the ceiling, whose bare
   * server checks no nonce: the generator does exactly the same work per request either way.
   */
  readonly cycle: boolean;
  readonly recipe: Recipe;
  /**
   * Text every 2xx answer must hold (`"TotalCount":"1"` for a List by one stored id): a fast wrong
   * answer, such as an empty List of a store other than the one seeded, must not count as served.
   */
  readonly expect?: string;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadResult {
  readonly label: string;
  readonly signed: number;
  readonly signMs: number;
  /** Responses received inside the timed window. */
  readonly responses: number;
  readonly ok: number;
  /** 2xx answers of the warm-up and the timed run. */
  readonly okIncludingWarmup: number;
  /**
   * Create and Delete: the session of every 2xx answer, warm-up included (the id a Create answered,
   * the id a Delete asked for), for the benchmark to find in the store.
   */
  readonly okIds?: readonly string[];
  /** Answers of the warm-up that were not 2xx (the window's are in statusCounts). */
  readonly non2xxWarmup: number;
  /** 2xx answers, warm-up included, without the job's `expect` text. */
  readonly unexpected: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly connErrors: number;
  readonly timeouts: number;
  readonly elapsedSec: number;
  readonly rps: number;
  readonly latencyMs: LatencySummary;
  /** The signed requests ran out before the duration: the window was cut short (rps stays valid). */
  readonly exhausted: boolean;
  /** CPU the generator process used during the timed window, as a fraction of one core. */
  readonly generatorCpu: number;
  /** The first few answers that were not 2xx or not as expected, to tell what went wrong. */
  readonly errorSamples: readonly string[];
}

/** Lines the generator writes on stdout, one JSON object each. */
export type LoadEvent =
  | { readonly event: 'signed'; readonly count: number; readonly ms: number }
  | { readonly event: 'start' }
  | { readonly event: 'end' }
  | { readonly event: 'result'; readonly result: LoadResult };
