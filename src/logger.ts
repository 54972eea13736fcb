/**
 * JSON log lines for machines; the same lines made readable when stdout is a terminal.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type pretty from 'pino-pretty';

/**
 * Resolves once an asynchronous destination has written everything it was given: at once when no
 * write is under way, else at its next 'drain', which it emits when nothing is left. (Its flush()
 * does not wait: it only forces out lines held back by a minimum length.) Whether a write is under
 * way is sonic-boom's own `_writing` flag, which it does not expose otherwise; a destination
 * without it is taken as idle, as before this wait existed.
 */
function whenDrained(destination: unknown): Promise<void> {
  if (!(destination instanceof EventEmitter)) return Promise.resolve();
  if ((destination as EventEmitter & { _writing?: unknown })._writing !== true) return Promise.resolve();
  return new Promise((resolve) => destination.once('drain', () => resolve()));
}

/** Resolves once every line logged so far has been written out; at once when nothing waits. */
export function linesWritten(log: Logger): Promise<void> {
  return whenDrained((log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym]);
}

export function createLogger(level: string, stream: NodeJS.WritableStream = process.stdout): Logger {
  const isTty = 'isTTY' in stream && stream.isTTY === true;
  const options = {
    level,
    base: null,
    // Secrets must never reach a log line, whatever object is logged.
    redact: {
      paths: ['*.secret', '*.accessKeySecret', 'secret', 'accessKeySecret', '*.AccessKeySecret'],
      censor: '***',
    },
  };
  if (isTty) {
    // Loaded only for a terminal: a server logging to a file or a pipe never formats a line.
    const prettyStream = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
    return pino(
      options,
      prettyStream({
        colorize: true,
        destination: stream,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      }),
    );
  }
  if (stream === process.stdout) {
    // Writes to a file or pipe on stdout are synchronous in Node: one syscall per access-log line.
    // Write asynchronously instead: under load, lines queued behind a write in flight go out together.
    const destination = pino.destination({ dest: 1, sync: false });
    process.on('exit', () => destination.flushSync());
    return pino(options, destination);
  }
  return pino(options, stream);
}

/**
 * The logger for access lines: the root's destination and level, without redaction. An access line
 * has fixed fields (request id, action, AccessKey id, code, status, latency) and no secret, while
 * redaction walks every field of every line and costs more than writing the rest of it (about 8
 * of 11 µs per line): paid on every request, that was a few percent of a small request's time.
 * Anything else, and any object that might carry a secret, goes through the root logger; the one
 * exception, the debug line of a request's parameters, masks them itself (server.ts, detailForLog),
 * by rules the root logger's fixed paths could not express (any case of a name, a value repeated in
 * a message).
 */
export function accessLogger(log: Logger): Logger {
  return log.child({}, { redact: { paths: [] } });
}

export type { Logger };
