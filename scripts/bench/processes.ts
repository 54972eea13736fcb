/**
 * Child processes of the benchmark: the real server (`node dist/main.js serve`), the ceiling
 * server and the load generator, plus what /proc tells about them (resident memory, CPU time).
 * The server's log goes to a file, not a pipe, so that reading it costs the benchmark nothing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_DELAY_MS } from '../../src/lifecycle/lifecycle.js';
import type { LoadEvent, LoadJob, LoadResult } from './job.js';
import type { AccountKey } from './layout.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Every child started and not yet gone. Registered at spawn, not once it is ready: a run stopped
 * while a server starts must still stop that server.
 */
const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Kills what is left, at once: for the benchmark's own exit, when there is no time to wait. */
export function killChildren(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * The environment a child runs in: enough to run node and reach PostgreSQL as the benchmark itself
 * does (the driver takes what a URL leaves out from `PG*` and `USER`), and nothing else. A
 * `VPCMIRROR_*` variable of the caller's shell would change the server's settings (turn nonce or RAM
 * checks off, point it at another database) and NODE_OPTIONS the runtime, while the results said
 * "default settings".
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'USER'].includes(name) || name.startsWith('PG'))
      env[name] = value;
  return { ...env, ...extra };
}

export interface ServerProcess {
  readonly pid: number;
  readonly endpoint: string;
  readonly logFile: string;
  /** The server's `vpcmirror listening` line: the settings it runs with (absent for the ceiling). */
  readonly settings?: Record<string, unknown>;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Waits for a JSON log line with this msg in a file the child writes. */
async function waitForLine(
  child: ChildProcess,
  file: string,
  msg: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // Not created yet.
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === msg) return parsed;
      } catch {
        // A line being written.
      }
    }
    if (child.exitCode !== null) {
      throw new Error(`the server exited (${child.exitCode}) before "${msg}":\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no "${msg}" line in ${file} within ${timeoutMs} ms`);
}

export interface VpcmirrorOptions {
  readonly dataDir: string;
  /** PostgreSQL URL; SQLite in the data directory when absent. */
  readonly database?: string | undefined;
  readonly key: AccountKey;
  /** Write the main thread's V8 CPU profile to this file when the server exits. */
  readonly profileTo?: string | undefined;
  /** The checkout whose build runs (`dist/`): this one unless told (compare.ts runs two). */
  readonly root?: string;
}

/** Starts the real server with default settings (signature checks, nonces, RAM all on). */
export async function startVpcmirror(opts: VpcmirrorOptions): Promise<ServerProcess> {
  const logFile = join(opts.dataDir, `server-${Date.now()}.log`);
  const out = openSync(logFile, 'a');
  // Every thread writes a profile (the ESM loader runs on a worker of its own), so they go to a
  // directory of their own and the main thread's (thread id 0) is picked on exit.
  const profileDir = join(opts.dataDir, `profile-${Date.now()}`);
  const nodeArgs = opts.profileTo ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const args = [
    ...nodeArgs,
    // The compiled server (`npm run build`), as a deployment runs it; bench.ts builds it first.
    join(opts.root ?? ROOT, 'dist/main.js'),
    'serve',
    '--port',
    '0',
    '--data-dir',
    opts.dataDir,
    ...(opts.database ? ['--database', opts.database] : []),
  ];
  const child = track(
    spawn(process.execPath, args, {
      cwd: opts.root ?? ROOT,
      stdio: ['ignore', out, out],
      env: childEnv({
        VPCMIRROR_ACCESS_KEY_ID: opts.key.accessKeyId,
        VPCMIRROR_ACCESS_KEY_SECRET: opts.key.accessKeySecret,
      }),
    }),
  );
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the server');
  try {
    const line = await waitForLine(child, logFile, 'vpcmirror listening', 60_000);
    checkDefaults(line, opts.database === undefined ? 'sqlite' : 'postgres');
    const endpoint = String(line.endpoint);
    const profileTo = opts.profileTo;
    // Stopped once, however many callers ask: the profile is copied once.
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await stopChild(child);
        if (profileTo) keepMainThreadProfile(profileDir, pid, profileTo);
      })());
    return { pid, endpoint, logFile, settings: line, stop };
  } catch (e) {
    await stopChild(child, 2000);
    throw e;
  }
}

/**
 * What the server said it runs with, against what the benchmark promises: the store it seeded,
 * RAM enforced, clock and replay checks on, every region, transitions on their default timing.
 */
function checkDefaults(line: Record<string, unknown>, store: 'sqlite' | 'postgres'): void {
  const wrong: string[] = [];
  if (line.store !== store) wrong.push(`store ${String(line.store)}, not ${store}`);
  if (line.ram !== 'enforced') wrong.push(`RAM ${String(line.ram)}`);
  if (line.checkTimestamp !== true) wrong.push('timestamp checks off');
  if (line.checkNonce !== true) wrong.push('nonce checks off');
  if (JSON.stringify(line.transitions) !== JSON.stringify({ default: DEFAULT_DELAY_MS }))
    wrong.push(`transitions ${JSON.stringify(line.transitions)}`);
  if (wrong.length > 0) throw new Error(`the server is not on default settings: ${wrong.join(', ')}`);
}

function keepMainThreadProfile(dir: string, pid: number, to: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    return;
  }
  const main = files.find((f) => new RegExp(`^CPU\\.\\d+\\.\\d+\\.${pid}\\.0\\.\\d+\\.cpuprofile$`).test(f));
  // Copied, not renamed: the data directory may be on another file system.
  if (main) copyFileSync(join(dir, main), to);
}

/** A plain JavaScript server of the benchmark's own, started without a loader. */
async function startPlain(
  script: string,
  name: string,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const logFile = join(dataDir, `${name}-${Date.now()}.log`);
  const out = openSync(logFile, 'a');
  const child = track(
    spawn(process.execPath, [join(ROOT, 'scripts/bench', script)], {
      cwd: ROOT,
      stdio: ['ignore', out, out],
      env: childEnv(env),
    }),
  );
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the ${name} server`);
  const line = await waitForLine(child, logFile, `${name} listening`, 30_000);
  return { pid, endpoint: String(line.endpoint), logFile, stop: () => stopChild(child) };
}

/** The bare ceiling: plain JavaScript, without a loader, so that its memory is node:http's alone. */
export function startCeiling(dataDir: string): Promise<ServerProcess> {
  return startPlain('ceiling-server.mjs', 'ceiling', dataDir);
}

/**
 * The floor (floor-server.mjs) on the seeded SQLite file `store`, for requests signed by `key`;
 * its Creates go to a scratch file in `dataDir`.
 */
export function startFloor(dataDir: string, store: string, key: AccountKey): Promise<ServerProcess> {
  return startPlain('floor-server.mjs', 'floor', dataDir, {
    FLOOR_STORE: store,
    FLOOR_SCRATCH: join(dataDir, `floor-${Date.now()}.sqlite`),
    FLOOR_KEY: JSON.stringify({
      accessKeyId: key.accessKeyId,
      accessKeySecret: key.accessKeySecret,
      accountId: key.accountId,
    }),
  });
}

/** Runs the generator on a job; `onStart`/`onEnd` bracket its timed window. */
export async function runLoad(
  jobFile: string,
  job: LoadJob,
  hooks: { onSigned?: (count: number, ms: number) => void; onStart: () => void; onEnd: () => void },
): Promise<LoadResult> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/bench/load.ts'), jobFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(),
    }),
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  let result: LoadResult | undefined;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as LoadEvent;
    if (e.event === 'signed') hooks.onSigned?.(e.count, e.ms);
    else if (e.event === 'start') hooks.onStart();
    else if (e.event === 'end') hooks.onEnd();
    else if (e.event === 'result') result = e.result;
  }
  await exited(child);
  if (!result) throw new Error(`the load generator failed (${job.label}): ${stderr.slice(-2000)}`);
  return result;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Read and write system calls a process has made so far (all of its threads). */
export function ioCallsOf(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const count = (field: string) => Number(new RegExp(`^${field}: (\\d+)`, 'm').exec(io)?.[1] ?? Number.NaN);
  return { reads: count('syscr'), writes: count('syscw') };
}

/** CPU time of every process on the machine, to tell how busy the box was (other work included). */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}

export interface WindowStats {
  /** The window on the monotonic clock, microseconds (what CPU profiles are stamped with). */
  readonly startUs: number;
  readonly endUs: number;
  /** Highest VmRSS sampled in the window, per process, MB. */
  readonly peakRssMb: number[];
  /** CPU used in the window as a fraction of one core, per process. */
  readonly cpu: number[];
  /** Busy fraction of the whole machine (all cores) in the window. */
  readonly machineBusy: number;
}

/** Samples the processes' memory every 100 ms and their CPU time at both ends of a window. */
export class WindowSampler {
  private timer: NodeJS.Timeout | undefined;
  private peaks: number[];
  private cpu0: number[] = [];
  private machine0 = machineCpuSeconds();
  private t0 = 0;
  private startUs = 0;

  constructor(private readonly pids: readonly number[]) {
    this.peaks = pids.map(() => 0);
  }

  private sample(): void {
    this.pids.forEach((pid, i) => {
      // A server that has exited (a crash, Ctrl-C reaching it first) has no /proc entry: the run
      // fails on its own, and this timer must not end the process before it cleans up.
      try {
        this.peaks[i] = Math.max(this.peaks[i] ?? 0, memoryOf(pid).rssMb);
      } catch {
        // Gone.
      }
    });
  }

  start(): void {
    this.t0 = performance.now();
    this.startUs = Number(process.hrtime.bigint() / 1000n);
    this.cpu0 = this.pids.map(cpuSecondsOf);
    this.machine0 = machineCpuSeconds();
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  stop(): WindowStats {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const wall = (performance.now() - this.t0) / 1000;
    const m = machineCpuSeconds();
    // A server gone meanwhile counts as idle: the run fails on its own, with its own error.
    const cpuSeconds = (pid: number): number => {
      try {
        return cpuSecondsOf(pid);
      } catch {
        return 0;
      }
    };
    return {
      startUs: this.startUs,
      endUs: Number(process.hrtime.bigint() / 1000n),
      peakRssMb: this.peaks.map((p) => Math.round(p * 10) / 10),
      cpu: this.pids.map(
        (pid, i) => Math.round(((cpuSeconds(pid) - (this.cpu0[i] ?? 0)) / wall) * 100) / 100,
      ),
      machineBusy:
        Math.round(((m.busy - this.machine0.busy) / Math.max(0.001, m.total - this.machine0.total)) * 100) /
        100,
    };
  }
}
