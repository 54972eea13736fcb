import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPERATIONS } from '../../src/api/registry.js';
import { checkEndpoint, parseCallArgs, UsageError, WAITS } from '../../src/cli/call.js';

test('call takes the action anywhere among the flags, and --Name=value or --Name value', () => {
  assert.deepEqual(
    parseCallArgs([
      '--endpoint',
      '127.0.0.1:1',
      'ListTrafficMirrorSessions',
      '--RegionId=cn-hongkong',
      '--wait',
      '--MaxResults',
      '5',
    ]),
    {
      action: 'ListTrafficMirrorSessions',
      params: { RegionId: 'cn-hongkong', MaxResults: '5' },
      flags: { endpoint: '127.0.0.1:1', wait: true },
    },
  );
});

test('call refuses no action, two actions, a flag without its value and single-dash words', () => {
  assert.throws(() => parseCallArgs(['--RegionId', 'cn-hongkong']), UsageError);
  assert.throws(
    () => parseCallArgs(['DescribeRegions', 'ListTrafficMirrorSessions']),
    /unexpected argument "ListTrafficMirrorSessions"/,
  );
  assert.throws(() => parseCallArgs(['DescribeRegions', '--RegionId']), /--RegionId needs a value/);
  // -h and --help ask for help; -h as a parameter's value is that value.
  assert.equal(parseCallArgs(['-h']).flags.help, true);
  assert.equal(parseCallArgs(['DescribeRegions', '--help']).flags.help, true);
  assert.equal(
    parseCallArgs(['CreateTrafficMirrorFilter', '--TrafficMirrorFilterName', '-h']).params
      .TrafficMirrorFilterName,
    '-h',
  );
  // A bare --DryRun would otherwise take the next flag as its value.
  assert.throws(
    () => parseCallArgs(['CreateTrafficMirrorFilter', '--DryRun', '--TrafficMirrorFilterName', 'x']),
    /--DryRun needs a value \(write --DryRun true for a flag\)/,
  );
  assert.throws(() => parseCallArgs(['-x', 'DescribeRegions']), UsageError);
});

test('call --wait follows exactly the operations the registry declares asynchronous', () => {
  const asynchronous = [...OPERATIONS.values()].filter((op) => op.async !== undefined).map((op) => op.action);
  assert.deepEqual(Object.keys(WAITS).sort(), asynchronous.sort());
});

test('call takes the endpoint forms serve records, link-local IPv6 with its interface included, and refuses a path or a bad port', () => {
  for (const ok of [
    '127.0.0.1:8787',
    'localhost:8787',
    'http://127.0.0.1:8787',
    'https://vpc.local:443/',
    '[::1]:8787',
    '[fe80::1%eth0]:8787',
    '[::ffff:127.0.0.1]:8787',
  ])
    assert.equal(checkEndpoint(ok, '--endpoint'), ok);
  for (const bad of [
    '127.0.0.1:0',
    '127.0.0.1:65536',
    'http://h:1/api',
    '[fe80::1%]:1',
    'fe80::1:8787',
    'h:port',
  ])
    assert.throws(
      () => checkEndpoint(bad, '--endpoint'),
      (e) => e instanceof UsageError && e.message.startsWith(`--endpoint: "${bad}" is not an endpoint`),
    );
});
