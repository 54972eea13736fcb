/**
 * SQLite checkpoints on a thread of their own.
 *
 * In WAL mode a commit appends the pages it changed to the write-ahead log; a checkpoint later
 * copies them into the database file and waits for the disk twice (fsync). By default SQLite runs
 * that checkpoint inside whichever commit takes the log past 1,000 pages, on the thread that
 * committed: in a server, the event loop, so every request in flight waits for the disk. Random
 * keys (nonces, resource ids) make each commit touch many pages, so this happens often.
 *
 * Here a worker thread with its own connection checkpoints every few milliseconds instead, and a
 * commit only appends. While nobody commits (an idle server), the worker looks less and less often,
 * down to once in IDLE_PAUSE_MS: looking a hundred times a second cost an idle server a few percent
 * of a core. The first commit after a quiet spell waits at most that long for its checkpoint, and
 * nothing waits for that but the log's length. The committing thread still checkpoints by itself
 * once the log reaches INLINE_CHECKPOINT_PAGES: if the worker stops, or falls behind under load
 * that never pauses. That bound also lets the log start over from its beginning, which needs every
 * frame copied at the moment a write begins: under steady writes only a checkpoint run between two
 * commits, on the committing thread, can guarantee that. Durability is unchanged: commits never
 * waited for the disk with synchronous=NORMAL, and a checkpoint is the same operation on either
 * thread.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** 64 MiB of 4 KiB pages: how long the log may grow before the committing thread checkpoints. */
export const INLINE_CHECKPOINT_PAGES = 16_384;

/** SQLite's own default, restored if the worker cannot run. */
export const SQLITE_DEFAULT_CHECKPOINT_PAGES = 1000;

/** The longest pause of the worker between two checkpoints, reached while nothing is written. */
export const IDLE_PAUSE_MS = 1000;

/**
 * What one checkpoint reported: frames in the log, how many of them are in the file now, and how
 * long the worker waits before the next one.
 */
export interface CheckpointResult {
  readonly logFrames: number;
  readonly checkpointedFrames: number;
  readonly nextPauseMs: number;
}

type WorkerMessage =
  | { readonly kind: 'ready'; readonly id: undefined }
  | { readonly kind: 'checkpointed'; readonly id: number; readonly result: CheckpointResult }
  | { readonly kind: 'error'; readonly id: number | undefined; readonly message: string };

// CommonJS run by the worker (eval): a module file would need the TypeScript loader in the worker
// too. It loads the same SQLite driver as the main thread, by resolved path.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const messageOf = (e) => String((e && e.message) || (e && e.code) || e);
function run(db) {
  const busyPause = workerData.intervalMs;
  const idlePause = Math.max(busyPause, workerData.idlePauseMs);
  let pause = busyPause;
  let seen = -1;
  let timer;
  let stopped = false;
  // One checkpoint. The next look waits twice as long, up to idlePause, unless another connection
  // committed since the last one (data_version moves with each such commit; the log's frame counts
  // may not, when the log starts over). A look that fails backs off too.
  function checkpoint() {
    pause = Math.min(pause * 2, idlePause);
    const version = db.pragma('data_version', { simple: true });
    const row = db.pragma('wal_checkpoint(PASSIVE)')[0];
    if (version !== seen) pause = busyPause;
    seen = version;
    return { logFrames: row.log, checkpointedFrames: row.checkpointed, nextPauseMs: pause };
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(onTimer, pause);
  }
  let failed = '';
  function onTimer() {
    try {
      checkpoint();
      failed = '';
    } catch (e) {
      // Reported once per new message, not on every look.
      if (messageOf(e) !== failed) parentPort.postMessage({ kind: 'error', message: messageOf(e) });
      failed = messageOf(e);
    }
    schedule();
  }
  schedule();
  parentPort.on('message', (m) => {
    if (m.kind === 'checkpoint') {
      // A request that crossed the stop: the connection is closed, and no timer may start again.
      if (stopped) {
        parentPort.postMessage({ kind: 'error', id: m.id, message: 'the checkpoint thread has stopped' });
        return;
      }
      try {
        parentPort.postMessage({ kind: 'checkpointed', id: m.id, result: checkpoint() });
      } catch (e) {
        parentPort.postMessage({ kind: 'error', id: m.id, message: messageOf(e) });
      }
      schedule();
      return;
    }
    stopped = true;
    clearTimeout(timer);
    db.close();
    parentPort.close();
  });
  parentPort.postMessage({ kind: 'ready' });
}
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  // A checkpoint copies pages from the log to the file without the page cache.
  db.pragma('cache_size = -64');
} catch (e) {
  // An error thrown out of a worker reaches the parent without its message: send it instead.
  parentPort.postMessage({ kind: 'error', message: 'cannot open ' + workerData.file + ': ' + messageOf(e) });
  parentPort.close();
}
if (db) run(db);
`;

export interface CheckpointerOptions {
  /** The SQLite file (in WAL mode, already open on the committing thread). */
  readonly file: string;
  /** Pause between two checkpoints of the worker while the log grows. */
  readonly intervalMs: number;
  /** The longest pause, reached while the log does not change (IDLE_PAUSE_MS by default). */
  readonly idlePauseMs?: number;
  /** Sets the committing connection's own checkpoint threshold, in pages. */
  readonly setInlineLimit: (pages: number) => void;
  /** A checkpoint failed, or the worker could not run (SQLite's own checkpoints take over then). */
  readonly onError: (message: string) => void;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(err);
}

interface Waiting {
  readonly resolve: (result: CheckpointResult) => void;
  readonly reject: (err: Error) => void;
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private readonly exited: Promise<void>;
  private held: boolean;
  private started = false;
  private stopping = false;
  private gone = false;

  constructor(options: CheckpointerOptions) {
    options.setInlineLimit(INLINE_CHECKPOINT_PAGES);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // The worker allocates next to nothing; small heaps keep the server's memory near what it was.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
      workerData: {
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: options.file,
        intervalMs: options.intervalMs,
        idlePauseMs: options.idlePauseMs ?? IDLE_PAUSE_MS,
      },
    });
    // Held until the worker has opened its connection (so that a failure to open is heard), and
    // while a caller waits for it; otherwise a server that forgets to close its store can exit.
    this.held = true;
    this.worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        this.started = true;
        this.hold();
        return;
      }
      const waiting = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (m.id !== undefined) this.waiting.delete(m.id);
      this.hold();
      if (m.kind === 'checkpointed') waiting?.resolve(m.result);
      else if (waiting) waiting.reject(new Error(m.message));
      else options.onError(m.message);
    });
    this.worker.once('error', (err: unknown) => options.onError(describe(err)));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => {
        this.gone = true;
        // Whatever the reason, the committing thread checkpoints by itself from now on.
        options.setInlineLimit(SQLITE_DEFAULT_CHECKPOINT_PAGES);
        for (const w of this.waiting.values()) w.reject(new Error('the checkpoint thread has stopped'));
        this.waiting.clear();
        resolve();
      });
    });
  }

  /** Runs one checkpoint on the worker now, as one of its looks (tests use it; a timer runs the others). */
  checkpoint(): Promise<CheckpointResult> {
    if (this.gone || this.stopping) return Promise.reject(new Error('the checkpoint thread has stopped'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.hold();
      this.worker.postMessage({ kind: 'checkpoint', id });
    });
  }

  /** Settles once the worker has ended, for whatever reason. */
  stopped(): Promise<void> {
    return this.exited;
  }

  /** Stops the worker and waits until its connection is closed. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.hold();
    this.worker.postMessage({ kind: 'stop' });
    await this.exited;
  }

  /** Keeps the process alive for the worker only while someone waits for it. */
  private hold(): void {
    const wanted = !this.started || this.stopping || this.waiting.size > 0;
    if (wanted === this.held) return;
    this.held = wanted;
    if (wanted) this.worker.ref();
    else this.worker.unref();
  }
}
