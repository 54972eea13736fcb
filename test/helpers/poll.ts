/** Waiting, bounded, for something that real processes or connections change in their own time. */
import { setTimeout as delay } from 'node:timers/promises';

/** Calls `probe` until `done` holds of what it returns; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T> | T,
  done: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await delay(20);
  }
}
