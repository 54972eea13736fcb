/**
 * The bare ceiling measured a second time, with wrk (Debian's package `wrk`) instead of autocannon.
 * Against the bare server a single autocannon process runs out of CPU before node:http does (it
 * uses nearly a whole core there), so its ceiling is the generator's. wrk, written in C, costs far
 * less per request: the same bare server, sent the same signed request, then shows what node:http
 * itself can answer. Used when wrk is installed; the benchmark says when it is not.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignedRequest } from '../../src/cli/client.js';
import { cpuSecondsOf } from './processes.js';

export interface WrkResult {
  /** Whole seconds: what wrk ran for. */
  readonly seconds: number;
  readonly rps: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requests: number;
  /** Answers that were not 2xx or 3xx. */
  readonly non2xx: number;
  /** Connect, read and write errors, and timeouts. */
  readonly socketErrors: number;
  /** CPU wrk used in the run, in cores. */
  readonly generatorCpu: number;
}

/** Whether wrk can be run here. */
export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

const lua = (s: string): string => JSON.stringify(s);

/**
 * A script that sends `req` on every connection, the connections of thread i going to endpoint i.
 * The bare server checks no signature, so one signed request may be sent again and again.
 */
function script(endpoints: readonly string[], req: SignedRequest): string {
  const hosts = endpoints.map((e) => {
    const colon = e.lastIndexOf(':');
    return `{ host = ${lua(e.slice(0, colon))}, port = ${lua(e.slice(colon + 1))} }`;
  });
  // wrk adds `Host` unless the script sets it under that name: the signed lower-case one would be
  // sent besides it.
  const headers = Object.entries(req.headers).map(
    ([k, v]) => `wrk.headers[${lua(k.toLowerCase() === 'host' ? 'Host' : k)}] = ${lua(v)}`,
  );
  return [
    `local hosts = { ${hosts.join(', ')} }`,
    'local made = 0',
    'function setup(thread)',
    '  made = made + 1',
    '  local h = hosts[((made - 1) % #hosts) + 1]',
    '  thread.addr = wrk.lookup(h.host, h.port)[1]',
    'end',
    `wrk.method = ${lua(req.method)}`,
    `wrk.path = ${lua(req.path)}`,
    ...headers,
    `wrk.body = ${lua(req.body)}`,
    '',
  ].join('\n');
}

/** wrk's latency, `1.37ms`, `850.00us` or `1.20s`, in ms; undefined when it is not one. */
function ms(text: string | undefined): number | undefined {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round((m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n) * 1000) / 1000;
}

/** wrk's report, or undefined when a number every run reports is missing from it. */
function parse(out: string, seconds: number, generatorCpu: number): WrkResult | undefined {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const percentile = (p: number) => ms(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1]);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  // `Latency  <avg>  <stdev>  <max>  <+/- stdev>` of the thread stats.
  const latency = /^\s+Latency\s+(\S+)\s+\S+\s+(\S+)/m.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  const [meanMs, p50Ms, p90Ms, p99Ms, maxMs] = [
    ms(latency?.[1]),
    percentile(50),
    percentile(90),
    percentile(99),
    ms(latency?.[2]),
  ];
  if (rps === undefined || meanMs === undefined || p50Ms === undefined || p90Ms === undefined)
    return undefined;
  if (p99Ms === undefined || maxMs === undefined) return undefined;
  return {
    seconds,
    rps: Math.round(Number(rps)),
    meanMs,
    p50Ms,
    p90Ms,
    p99Ms,
    maxMs,
    requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    generatorCpu,
  };
}

/**
 * Runs wrk against the endpoints for `seconds` (one thread per endpoint, the connections split
 * between them); `onStart`/`onEnd` bracket the run for the caller's sampling.
 */
export async function runWrk(
  dir: string,
  endpoints: readonly string[],
  connections: number,
  seconds: number,
  req: SignedRequest,
  hooks: { onStart?: () => void; onEnd?: () => void } = {},
): Promise<WrkResult> {
  const file = join(dir, 'ceiling-wrk.lua');
  writeFileSync(file, script(endpoints, req));
  const threads = endpoints.length;
  // wrk takes whole seconds.
  const whole = Math.max(1, Math.round(seconds));
  const child = spawn(
    'wrk',
    [
      '-t',
      String(threads),
      '-c',
      String(Math.max(threads, connections)),
      '-d',
      `${whole}s`,
      '--latency',
      '-s',
      file,
      `http://${endpoints[0]}/`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const started = performance.now();
  hooks.onStart?.();
  // wrk's own CPU time, read while it runs: its /proc entry is gone once it has been reaped.
  let cpu0: number | undefined;
  let cpuLast = 0;
  const pid = child.pid;
  const readCpu = () => {
    if (pid === undefined) return;
    try {
      cpuLast = cpuSecondsOf(pid);
      cpu0 ??= cpuLast;
    } catch {
      // Exited.
    }
  };
  readCpu();
  const sampler = setInterval(readCpu, 100);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sampler);
  hooks.onEnd?.();
  const wall = (performance.now() - started) / 1000;
  // A script wrk cannot read is reported on stderr, and wrk then sends its default request: a
  // ceiling of another request, measured without a word.
  const result =
    code === 0 && err.trim() === ''
      ? parse(out, whole, Math.round(((cpuLast - (cpu0 ?? 0)) / wall) * 1000) / 1000)
      : undefined;
  if (!result) throw new Error(`wrk failed (${code}): ${`${err}\n${out}`.trim().slice(-1000)}`);
  return result;
}
