/**
 * Every launcher of the server gives Node.js the same flags (src/cli/node-flags.ts): the command's
 * first line, `npm start`, and each command the docs give for running the compiled server.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SERVER_NODE_FLAGS } from '../../src/cli/node-flags.js';

function missing(where: string, text: string): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => !text.split(/\s+/).includes(flag)).map((f) => `${where}: ${f}`);
}

test('the vpcmirror command, npm start and the documented server commands pass the server flags', () => {
  const shebang = readFileSync('bin/vpcmirror.js', 'utf8').split('\n')[0] ?? '';
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  const documented = ['README.md', 'docs/benchmarks.md'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.includes('dist/main.js serve'))
      .map((line) => [file, line] as const),
  );
  assert.ok(documented.length >= 2, 'the docs give the command');
  assert.deepEqual(
    [
      ...missing('bin/vpcmirror.js', shebang),
      ...missing('npm start', pkg.scripts.start ?? ''),
      ...documented.flatMap(([file, line]) => missing(file, line)),
    ],
    [],
  );
});
