/**
 * The real `vpcmirror` program as a child process: run a CLI command to completion, or keep a
 * `vpcmirror serve` running, learn its endpoint from the JSON log line it prints when listening,
 * kill it with SIGKILL (a crash, not a shutdown) and start it again on the same data. Every wait
 * has a timeout, so a hung child fails the test instead of hanging it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { pgUrl, withPgAdmin } from './server.js';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'vpcmirror.js');

/** The environment of a child: ours without any VPCMIRROR_* setting, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('VPCMIRROR_')) out[k] = v;
  return { ...out, ...env };
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `vpcmirror <args>` to completion. */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vpcmirror ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface ServeOptions {
  /** Flags after `serve` (`--data-dir`, `--database`, `--transitions`, …). `--port 0` is added. */
  readonly args: readonly string[];
  /** VPCMIRROR_* settings, e.g. the AccessKey pair. */
  readonly env?: Record<string, string>;
  /** How long to wait for the listening line. */
  readonly startTimeoutMs?: number;
}

/** A running `vpcmirror serve`; `restart` starts it again with the same arguments. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private tail: string[] = [];
  endpoint = '';
  port = 0;
  /** How many times this server was started. */
  starts = 0;

  private constructor(private readonly options: ServeOptions) {}

  static async start(options: ServeOptions): Promise<ServerProcess> {
    const p = new ServerProcess(options);
    await p.launch();
    return p;
  }

  /** The last lines the child wrote (for failure messages). */
  recentOutput(): string {
    return this.tail.join('\n');
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
  }

  private launch(): Promise<void> {
    const { args, env = {}, startTimeoutMs = 30_000 } = this.options;
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(
          new Error(`vpcmirror serve did not listen within ${startTimeoutMs} ms\n${this.recentOutput()}`),
        );
      }, startTimeoutMs);
      let buffered = '';
      // The child logs a line per request: keep reading, or a full pipe would stall it.
      child.stdout.on('data', (c: Buffer) => {
        buffered += c.toString('utf8');
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf('\n');
          this.remember(line);
          if (settled || !line.startsWith('{')) continue;
          try {
            const entry = JSON.parse(line) as { msg?: unknown; endpoint?: unknown };
            if (entry.msg === 'vpcmirror listening' && typeof entry.endpoint === 'string') {
              this.endpoint = entry.endpoint;
              this.port = Number(entry.endpoint.slice(entry.endpoint.lastIndexOf(':') + 1));
              settle();
            }
          } catch {
            // Not a log line of ours.
          }
        }
      });
      child.stderr.on('data', (c: Buffer) => {
        for (const line of c.toString('utf8').split('\n')) if (line.trim() !== '') this.remember(line);
      });
      child.once('close', (code, signal) =>
        settle(
          new Error(`vpcmirror serve exited (${code ?? signal}) before listening\n${this.recentOutput()}`),
        ),
      );
    });
  }

  /** How the last run ended, once it has: an exit code, or the signal that ended it. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    const child = this.child;
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    return { code: child.exitCode, signal: child.signalCode };
  }

  /** SIGKILL: no shutdown code runs, in-flight requests are cut, nothing is flushed by us. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Starts the server again on the same data (a new port). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** SIGTERM and wait (bounded), then SIGKILL if it did not go. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * A fresh PostgreSQL schema a child process can be pointed at: `url` selects it through the
 * connection's search_path, since `vpcmirror serve` takes a URL and no schema option.
 */
export async function freshPgSchema(): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `p_${randomBytes(6).toString('hex')}`;
  await withPgAdmin((db) => sql`create schema ${sql.id(schema)}`.execute(db));
  const u = new URL(pgUrl());
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    schema,
    url: u.toString(),
    async drop() {
      await withPgAdmin((db) => sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db));
    },
  };
}
