/**
 * The time of one ListTrafficMirrorSessions page, measured one request at a time (no concurrency)
 * over a keep-alive connection: the first page, a walk of every page with NextToken, and the last
 * full page of that walk asked again. Each request is signed just before it is sent, outside the
 * timed part. With two nodes the requests alternate between them, so that a NextToken one node
 * issued is redeemed at the other.
 */
import { Agent, request } from 'node:http';
import { type SignedRequest, signRequest } from '../../src/cli/client.js';
import type { AccountKey } from './layout.js';

export interface PageStats {
  /** 100, or 'default' when MaxResults is not sent. */
  readonly maxResults: number | 'default';
  /** Sessions the walk returned (the benchmark account's sessions in the region). */
  readonly listed: number;
  readonly pages: number;
  /** First page, median of the repeats, ms. */
  readonly firstMs: number;
  /** The last full page of the walk (deep into it), median of the repeats, ms. */
  readonly deepMs: number;
  /** How many sessions precede the deep page. */
  readonly deepOffset: number;
  /** Mean page time over the whole walk, ms. */
  readonly walkMeanMs: number;
  readonly walkTotalMs: number;
  /** TotalCount as the first page answered it. */
  readonly totalCount: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

interface Timed {
  readonly ms: number;
  readonly status: number;
  readonly body: string;
}

function timedSend(endpoint: string, req: SignedRequest): Promise<Timed> {
  const colon = endpoint.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const r = request(
      {
        agent,
        hostname: endpoint.slice(0, colon),
        port: Number(endpoint.slice(colon + 1)),
        method: req.method,
        path: req.path,
        headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            ms: performance.now() - started,
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

interface Page {
  readonly ms: number;
  readonly ids: readonly string[];
  readonly count: number;
  readonly next: string;
  readonly total: number;
}

async function listPage(
  endpoint: string,
  key: AccountKey,
  regionId: string,
  maxResults: number | 'default',
  token: string | undefined,
): Promise<Page> {
  const params: Record<string, string> = { RegionId: regionId };
  if (maxResults !== 'default') params.MaxResults = String(maxResults);
  if (token) params.NextToken = token;
  const signed = signRequest(
    { endpoint, accessKeyId: key.accessKeyId, accessKeySecret: key.accessKeySecret },
    'ListTrafficMirrorSessions',
    params,
  );
  const t = await timedSend(endpoint, signed);
  if (t.status !== 200)
    throw new Error(`ListTrafficMirrorSessions answered ${t.status}: ${t.body.slice(0, 300)}`);
  const body = JSON.parse(t.body) as {
    TrafficMirrorSessions?: Array<{ TrafficMirrorSessionId?: string }>;
    NextToken?: string;
    TotalCount?: unknown;
  };
  return {
    ms: t.ms,
    ids: (body.TrafficMirrorSessions ?? []).map((s) => s.TrafficMirrorSessionId ?? ''),
    count: body.TrafficMirrorSessions?.length ?? 0,
    next: body.NextToken ?? '',
    total: Number(body.TotalCount ?? 0),
  };
}

/** The middle value; of an even count, the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

export async function measurePages(
  endpoints: readonly string[],
  key: AccountKey,
  regionId: string,
  maxResults: number | 'default',
  repeats: number,
): Promise<PageStats> {
  let sent = 0;
  const listPageAt = (token: string | undefined) =>
    listPage(endpoints[sent++ % endpoints.length] ?? '', key, regionId, maxResults, token);
  // Warm the connection and the code paths before timing anything.
  let totalCount = 0;
  for (let i = 0; i < 5; i++) totalCount = (await listPageAt(undefined)).total;
  const first: number[] = [];
  for (let i = 0; i < repeats; i++) first.push((await listPageAt(undefined)).ms);

  let token: string | undefined;
  let listed = 0;
  const seen = new Set<string>();
  let pages = 0;
  let walkTotal = 0;
  let deepToken: string | undefined;
  let deepOffset = 0;
  let pageSize = 0;
  for (;;) {
    const page = await listPageAt(token);
    pages++;
    walkTotal += page.ms;
    if (pages === 1) pageSize = page.count;
    if (page.count === pageSize && page.count > 0) {
      deepToken = token;
      deepOffset = listed;
    }
    listed += page.count;
    for (const id of page.ids) seen.add(id);
    if (!page.next) break;
    token = page.next;
  }
  const deep: number[] = [];
  for (let i = 0; i < repeats; i++) deep.push((await listPageAt(deepToken)).ms);
  // A walk that skipped or repeated sessions would time something other than the list it names.
  if (listed !== totalCount || seen.size !== listed)
    throw new Error(
      `the walk listed ${listed} sessions (${seen.size} different), but TotalCount is ${totalCount}`,
    );
  return {
    maxResults,
    listed,
    pages,
    firstMs: round(median(first)),
    deepMs: round(median(deep)),
    deepOffset,
    walkMeanMs: round(walkTotal / pages),
    walkTotalMs: Math.round(walkTotal),
    totalCount,
  };
}
