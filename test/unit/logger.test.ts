/**
 * The loggers: the root logger masks secrets in whatever object it is given; the access logger
 * writes its fixed fields to the same place at the same level, unmasked.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import pino from 'pino';
import { accessLogger, createLogger, linesWritten } from '../../src/logger.js';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger(level, stream), lines };
}

test('the root logger masks secrets at the top level and one level down', () => {
  const { log, lines } = capture('info');
  log.info(
    { secret: 's1', accessKeySecret: 's2', key: { secret: 's3', AccessKeySecret: 's4', id: 'k' } },
    'm',
  );
  assert.deepEqual(lines[0], {
    level: 30,
    time: lines[0]?.time,
    secret: '***',
    accessKeySecret: '***',
    key: { secret: '***', AccessKeySecret: '***', id: 'k' },
    msg: 'm',
  });
});

test('the access logger writes the access fields as given, to the same stream, at the root level', () => {
  const { log, lines } = capture('info');
  const access = accessLogger(log);
  const fields = {
    requestId: 'B5F1C8D2-0000-4000-8000-000000000001',
    action: 'ListTrafficMirrorSessions',
    accessKeyId: 'LTAI0000000000000001',
    code: 'OK',
    status: 200,
    latencyMs: 1.5,
  };
  access.info(fields, 'request');
  access.debug(fields, 'below the level');
  assert.equal(lines.length, 1);
  assert.deepEqual(lines[0], { level: 30, time: lines[0]?.time, ...fields, msg: 'request' });
  // The root keeps masking after a child without redaction was made from it.
  log.info({ secret: 'x' }, 'after');
  assert.equal(lines[1]?.secret, '***');

  const quiet = capture('warn');
  accessLogger(quiet.log).info(fields, 'request');
  assert.equal(quiet.lines.length, 0, 'the access logger follows the root level');
});

/** 'drained' if it has settled by the next turn of the event loop, else 'waiting'. */
function settledSoon(p: Promise<void>): Promise<string> {
  return Promise.race([
    p.then(() => 'drained'),
    new Promise<string>((resolve) => setImmediate(() => resolve('waiting'))),
  ]);
}

test('waiting for the asynchronous log destination: at once when idle, else until it has written all', async () => {
  const destination = pino.destination({ dest: '/dev/null', sync: false });
  await once(destination, 'ready');
  const log = pino({}, destination);
  try {
    assert.equal(await settledSoon(linesWritten(log)), 'drained', 'nothing to wait for');
    log.info('a line');
    const written = linesWritten(log);
    // The installed sonic-boom still says that a write is under way (the flag linesWritten reads).
    assert.equal((destination as unknown as { _writing: boolean })._writing, true);
    await written;
    assert.equal((destination as unknown as { _writing: boolean })._writing, false, 'written by then');
    assert.equal(await settledSoon(linesWritten(log)), 'drained');
  } finally {
    destination.end();
  }
});

test('on a terminal the lines are formatted for reading, secrets still masked', async () => {
  let text = '';
  const terminal = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString('utf8');
        done();
      },
    }),
    { isTTY: true },
  );
  const log = createLogger('info', terminal);
  log.info({ key: { secret: 's1', id: 'k' } }, 'readable');
  // The formatter writes on a stream of its own, a turn or more later.
  for (let turn = 0; turn < 100 && !text.includes('readable'); turn++)
    await new Promise((resolve) => setImmediate(resolve));
  const plain = stripVTControlCharacters(text);
  assert.match(plain, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: readable\n/);
  assert.match(plain, /"secret": "\*\*\*"/);
  assert.doesNotMatch(plain, /s1/);
  assert.throws(() => JSON.parse(plain.split('\n')[0] ?? ''), 'not a JSON line');
});
