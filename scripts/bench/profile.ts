/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time, as a
 * share of the time the process was not idle. Usable on its own:
 * `npx tsx scripts/bench/profile.ts bench/results/<file>.cpuprofile [top]`.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  readonly startTime: number;
  readonly endTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Frame {
  readonly frame: string;
  readonly selfMs: number;
  /** Share of the non-idle time, percent. */
  readonly selfPct: number;
}

/** A stretch of time on the monotonic clock (process.hrtime), in microseconds: V8 stamps samples on it. */
export interface TimeWindow {
  readonly label: string;
  readonly startUs: number;
  readonly endUs: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** The timed window the summary is restricted to (start-up and warm-up left out). */
  readonly window: string;
  readonly totalMs: number;
  readonly idleMs: number;
  readonly top: readonly Frame[];
}

const ROOT = new URL('../../', import.meta.url).pathname;

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const path = url.startsWith('file://') ? relative(ROOT, new URL(url).pathname) : url;
  return `${name} ${path}:${lineNumber + 1}`;
}

function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

/** The windows that fall inside the profile's time span. */
export function windowsOf(file: string, windows: readonly TimeWindow[]): TimeWindow[] {
  const p = readProfile(file);
  return windows.filter((w) => w.startUs >= p.startTime && w.endUs <= p.endTime);
}

export function summarizeProfile(file: string, top = 15, window?: TimeWindow): ProfileSummary {
  const profile = readProfile(file);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.startUs || at > window.endUs)) return;
    const dt = delta / 1000;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const name = frameName(node);
    if (name === '(idle)') idle += dt;
    else self.set(name, (self.get(name) ?? 0) + dt);
  });
  const busy = Math.max(total - idle, 0.001);
  const frames = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, ms]) => ({
      frame,
      selfMs: Math.round(ms),
      selfPct: Math.round((ms / busy) * 1000) / 10,
    }));
  return {
    file: relative(ROOT, file),
    window: window?.label ?? 'whole process',
    totalMs: Math.round(total),
    idleMs: Math.round(idle),
    top: frames,
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [
    `${s.file} (${s.window}): ${s.totalMs} ms sampled, ${s.idleMs} ms idle; self time as % of the busy time:`,
    ...s.top.map(
      (f) => `  ${f.selfPct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.frame}`,
    ),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, Number(process.argv[3] ?? 25)))}\n`);
}
