/**
 * RAM resource names from an operation's template (src/api/operation.ts expandResource): the
 * caller's account, a parameter's value, one name per list item, `*` for what the call does not
 * name, and lookups for values the request does not carry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expandResource, type ResourceScope } from '../../src/api/operation.js';
import type { InputOf, ParamSpecs } from '../../src/api/schema.js';
import type { Executor } from '../../src/store/database.js';

const SESSION = 'acs:vpc:{RegionId}:{accountId}:trafficmirrorsession/{TrafficMirrorSessionId}';
// The template is never used with a store here: a lookup that needs one gets none.
const scope: ResourceScope = { accountId: '1234567890', db: undefined as unknown as Executor };

function expand(
  template: string,
  input: InputOf<ParamSpecs>,
  lookups?: Record<string, () => Promise<string | undefined>>,
): Promise<string[]> {
  return expandResource<ParamSpecs>(template, input, scope, lookups);
}

describe('resource templates', () => {
  test("a parameter's value and the caller's account fill their placeholders", async () => {
    assert.deepEqual(await expand(SESSION, { RegionId: 'cn-hangzhou', TrafficMirrorSessionId: 'tms-a1' }), [
      'acs:vpc:cn-hangzhou:1234567890:trafficmirrorsession/tms-a1',
    ]);
  });

  test('what the call does not name becomes *, and so does an empty list', async () => {
    assert.deepEqual(await expand(SESSION, { RegionId: 'cn-hangzhou' }), [
      'acs:vpc:cn-hangzhou:1234567890:trafficmirrorsession/*',
    ]);
    assert.deepEqual(await expand(SESSION, { RegionId: 'cn-hangzhou', TrafficMirrorSessionId: [] }), [
      'acs:vpc:cn-hangzhou:1234567890:trafficmirrorsession/*',
    ]);
  });

  test('a list gives one name per item, and two lists every combination, in order', async () => {
    assert.deepEqual(
      await expand('acs:vpc:{RegionId}:{accountId}:x/{Ids}', { RegionId: 'cn-hangzhou', Ids: ['a', 'b'] }),
      ['acs:vpc:cn-hangzhou:1234567890:x/a', 'acs:vpc:cn-hangzhou:1234567890:x/b'],
    );
    assert.deepEqual(await expand('{A}-{B}.', { A: ['1', '2'], B: ['x', 'y'] }), [
      '1-x.',
      '1-y.',
      '2-x.',
      '2-y.',
    ]);
  });

  test('numbers are written as text, and a template without placeholders stays as it is', async () => {
    assert.deepEqual(await expand('rule/{Priority}', { Priority: 7 }), ['rule/7']);
    assert.deepEqual(await expand('acs:vpc:*:*:*', {}), ['acs:vpc:*:*:*']);
  });

  test('a lookup fills a value the request lacks, and only then', async () => {
    let calls = 0;
    const lookups = {
      FilterId: async () => {
        calls++;
        return 'tmf-found';
      },
    };
    assert.deepEqual(await expand('trafficmirrorfilter/{FilterId}', {}, lookups), [
      'trafficmirrorfilter/tmf-found',
    ]);
    assert.deepEqual(await expand('trafficmirrorfilter/{FilterId}', { FilterId: 'tmf-given' }, lookups), [
      'trafficmirrorfilter/tmf-given',
    ]);
    assert.equal(calls, 1);
  });
});
