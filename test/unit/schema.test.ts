/**
 * Validation from parameter declarations (src/api/schema.ts): Missing<Name> and MissingParameter,
 * InvalidParameter naming the parameter for type, range, enum, length and pattern, coercion of
 * booleans and integers, lists and lists of objects, and the region check.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ParamSpecs, type ValidationContext, validateParams } from '../../src/api/schema.js';
import { ApiError, isApiError } from '../../src/protocol/api-error.js';

const ctx: ValidationContext = { regions: new Set(['cn-hangzhou', 'cn-hongkong']) };

function run(specs: ParamSpecs, params: Record<string, string>): Record<string, unknown> {
  return validateParams(specs, new Map(Object.entries(params)), ctx) as Record<string, unknown>;
}

function failure(
  specs: ParamSpecs,
  params: Record<string, string>,
): { code: string; message: string; status: number } {
  try {
    run(specs, params);
  } catch (e) {
    if (isApiError(e)) return { code: e.code, message: e.message, status: e.httpStatus };
    throw e;
  }
  throw new Error(`accepted: ${JSON.stringify(params)}`);
}

const invalid = (name: string) => ({
  code: 'InvalidParameter',
  message: `The specified parameter "${name}" is not valid.`,
  status: 400,
});

describe('required parameters', () => {
  const specs: ParamSpecs = {
    RegionId: { type: 'string', required: true, region: true },
    Ids: { type: 'list', item: { type: 'string' }, maxItems: 5, required: true },
  };

  test('a missing scalar is Missing<Name> with its message', () => {
    assert.deepEqual(failure(specs, { 'Ids.1': 'a' }), {
      code: 'MissingRegionId',
      message: 'RegionId is mandatory for this action.',
      status: 400,
    });
  });

  test('an empty scalar counts as missing', () => {
    assert.equal(failure(specs, { RegionId: '', 'Ids.1': 'a' }).code, 'MissingRegionId');
  });

  test('names are case-sensitive: regionid does not stand for RegionId', () => {
    assert.equal(failure(specs, { regionid: 'cn-hangzhou', 'Ids.1': 'a' }).code, 'MissingRegionId');
  });

  test('a missing required list is MissingParameter naming its first item', () => {
    assert.deepEqual(failure(specs, { RegionId: 'cn-hangzhou' }), {
      code: 'MissingParameter',
      message: 'The input parameter "Ids.1" that is mandatory for processing this request is not supplied.',
      status: 400,
    });
    assert.equal(failure(specs, { RegionId: 'cn-hangzhou', 'Ids.1': '' }).code, 'MissingParameter');
  });

  test('an unknown RegionId is InvalidRegionId.NotFound (404)', () => {
    assert.deepEqual(failure(specs, { RegionId: 'cn-nowhere', 'Ids.1': 'a' }), {
      code: 'InvalidRegionId.NotFound',
      message: 'The specified RegionId does not exist in our records.',
      status: 404,
    });
  });

  test('unknown parameters are ignored', () => {
    assert.deepEqual(run(specs, { RegionId: 'cn-hongkong', 'Ids.1': 'a', Extra: 'x', OwnerId: '1' }), {
      RegionId: 'cn-hongkong',
      Ids: ['a'],
    });
  });
});

describe('integers', () => {
  const specs: ParamSpecs = { N: { type: 'integer', min: 1, max: 100 } };
  const ok: Array<[string, number]> = [
    ['1', 1],
    ['100', 100],
    ['042', 42],
  ];
  for (const [raw, n] of ok)
    test(`${raw} is coerced to ${n}`, () => assert.deepEqual(run(specs, { N: raw }), { N: n }));
  const bad = [
    '0',
    '101',
    '-1',
    '1.5',
    '1e2',
    '0x10',
    ' 5',
    '5 ',
    '+5',
    'ten',
    '9007199254740993',
    '12345678901234567',
  ];
  for (const raw of bad)
    test(`${JSON.stringify(raw)} is InvalidParameter naming N`, () =>
      assert.deepEqual(failure(specs, { N: raw }), invalid('N')));
  test('an absent optional integer is left out', () => assert.deepEqual(run(specs, {}), {}));
});

describe('booleans', () => {
  const specs: ParamSpecs = { B: { type: 'boolean' } };
  const ok: Array<[string, boolean]> = [
    ['true', true],
    ['false', false],
    ['TRUE', true],
    ['False', false],
  ];
  for (const [raw, b] of ok)
    test(`${raw} is coerced to ${b}`, () => assert.deepEqual(run(specs, { B: raw }), { B: b }));
  for (const raw of ['1', '0', 'yes', 'on', 't', 'true ']) {
    test(`${JSON.stringify(raw)} is InvalidParameter naming B`, () =>
      assert.deepEqual(failure(specs, { B: raw }), invalid('B')));
  }
});

describe('strings', () => {
  test('length limits', () => {
    const specs: ParamSpecs = { S: { type: 'string', minLength: 2, maxLength: 4 } };
    assert.deepEqual(run(specs, { S: 'ab' }), { S: 'ab' });
    assert.deepEqual(run(specs, { S: 'abcd' }), { S: 'abcd' });
    assert.deepEqual(failure(specs, { S: 'a' }), invalid('S'));
    assert.deepEqual(failure(specs, { S: 'abcde' }), invalid('S'));
  });

  test('an enum is exact unless declared case-insensitive, which answers the canonical spelling', () => {
    const exact: ParamSpecs = { E: { type: 'string', enum: ['NetworkInterface', 'SLB'] } };
    assert.deepEqual(run(exact, { E: 'SLB' }), { E: 'SLB' });
    assert.deepEqual(failure(exact, { E: 'slb' }), invalid('E'));
    const loose: ParamSpecs = {
      E: { type: 'string', enum: ['TRAFFICMIRRORSESSION'], caseInsensitive: true },
    };
    assert.deepEqual(run(loose, { E: 'TrafficMirrorSession' }), { E: 'TRAFFICMIRRORSESSION' });
    assert.deepEqual(failure(loose, { E: 'TrafficMirror' }), invalid('E'));
  });

  test('a pattern must match the whole value as declared', () => {
    const specs: ParamSpecs = { P: { type: 'string', pattern: /^tms-[a-z0-9]+$/ } };
    assert.deepEqual(run(specs, { P: 'tms-abc1' }), { P: 'tms-abc1' });
    assert.deepEqual(failure(specs, { P: 'tms-ABC' }), invalid('P'));
    assert.deepEqual(failure(specs, { P: 'xtms-abc' }), invalid('P'));
  });

  test('ascii allows printable ASCII only', () => {
    const specs: ParamSpecs = { T: { type: 'string', ascii: true } };
    assert.deepEqual(run(specs, { T: 'abc-123_~ !' }), { T: 'abc-123_~ !' });
    for (const raw of ['tab\there', '中', 'nul\u0000', 'del\u007f'])
      assert.deepEqual(failure(specs, { T: raw }), invalid('T'));
  });

  test('noUrlPrefix refuses http:// and https:// in any case, only at the start', () => {
    const specs: ParamSpecs = { D: { type: 'string', noUrlPrefix: true } };
    assert.deepEqual(failure(specs, { D: 'http://x' }), invalid('D'));
    assert.deepEqual(failure(specs, { D: 'HTTPS://x' }), invalid('D'));
    assert.deepEqual(run(specs, { D: 'see http://x' }), { D: 'see http://x' });
  });

  test('allowEmpty keeps an empty value instead of treating it as absent', () => {
    assert.deepEqual(run({ V: { type: 'string', allowEmpty: true } }, { V: '' }), { V: '' });
    assert.deepEqual(run({ V: { type: 'string' } }, { V: '' }), {});
  });
});

describe('lists', () => {
  const specs: ParamSpecs = { Ids: { type: 'list', item: { type: 'string', maxLength: 5 }, maxItems: 3 } };

  test('items come back in index order, gaps tolerated, empty items skipped; absent is []', () => {
    assert.deepEqual(run(specs, { 'Ids.3': 'c', 'Ids.1': 'a', 'Ids.2': '' }), { Ids: ['a', 'c'] });
    assert.deepEqual(run(specs, {}), { Ids: [] });
  });

  test('a bad index or a sub-field is InvalidParameter naming the key', () => {
    for (const key of ['Ids.0', 'Ids.01', 'Ids.x', 'Ids.', 'Ids.12345']) {
      assert.deepEqual(failure(specs, { [key]: 'a' }), invalid(key), key);
    }
    assert.deepEqual(failure(specs, { 'Ids.1.Field': 'a' }), invalid('Ids.1'));
  });

  test('an index with a trailing dot is InvalidParameter naming the key, alone or beside the same index', () => {
    assert.deepEqual(failure(specs, { 'Ids.1.': 'a' }), invalid('Ids.1.'));
    assert.deepEqual(failure(specs, { 'Ids.1': 'a', 'Ids.1.': 'b' }), invalid('Ids.1.'));
    assert.deepEqual(failure(specs, { 'Ids.1.': 'b', 'Ids.1': 'a' }), invalid('Ids.1.'));
  });

  test('an index past maxItems is InvalidParameter, or the declared overflow error', () => {
    assert.deepEqual(failure(specs, { 'Ids.4': 'a' }), invalid('Ids.4'));
    const quota: ParamSpecs = {
      Ids: {
        ...specs.Ids,
        overflow: () => new ApiError(400, 'QuotaExceeded.Test', 'too many'),
      } as ParamSpecs[string],
    };
    assert.equal(failure(quota, { 'Ids.9999': 'a' }).code, 'QuotaExceeded.Test');
  });

  test('an item is validated like a scalar and named by its index', () => {
    assert.deepEqual(failure(specs, { 'Ids.2': 'toolong' }), invalid('Ids.2'));
    const ints: ParamSpecs = { N: { type: 'list', item: { type: 'integer', min: 1 }, maxItems: 2 } };
    assert.deepEqual(run(ints, { 'N.1': '7', 'N.2': '8' }), { N: [7, 8] });
    assert.deepEqual(failure(ints, { 'N.2': '0' }), invalid('N.2'));
  });
});

describe('lists of objects', () => {
  const specs: ParamSpecs = {
    Tag: {
      type: 'objectList',
      maxItems: 2,
      fields: { Key: { type: 'string', required: true }, Value: { type: 'string', allowEmpty: true } },
    },
  };

  test('fields are gathered per index', () => {
    assert.deepEqual(run(specs, { 'Tag.2.Key': 'b', 'Tag.1.Key': 'a', 'Tag.1.Value': '' }), {
      Tag: [{ Key: 'a', Value: '' }, { Key: 'b' }],
    });
  });

  test('a missing required field is MissingParameter naming it', () => {
    assert.deepEqual(failure(specs, { 'Tag.1.Value': 'v' }), {
      code: 'MissingParameter',
      message:
        'The input parameter "Tag.1.Key" that is mandatory for processing this request is not supplied.',
      status: 400,
    });
  });

  test('a required field missing from a later item is reported before a malformed field of an earlier one', () => {
    const rules: ParamSpecs = {
      Rule: {
        type: 'objectList',
        maxItems: 3,
        fields: {
          Priority: { type: 'integer', min: 1 },
          Action: { type: 'string', required: true },
        },
      },
      Name: { type: 'string', required: true },
    };
    assert.equal(
      failure(rules, { 'Rule.1.Priority': 'x', 'Rule.1.Action': 'a', 'Rule.2.Priority': '1', Name: 'n' })
        .message,
      'The input parameter "Rule.2.Action" that is mandatory for processing this request is not supplied.',
    );
    // A missing top-level parameter declared later still comes first among the missing ones in order.
    assert.equal(failure(rules, { 'Rule.1.Priority': 'x', 'Rule.1.Action': 'a' }).code, 'MissingName');
    assert.deepEqual(
      failure(rules, { 'Rule.1.Priority': 'x', 'Rule.1.Action': 'a', Name: 'n' }),
      invalid('Rule.1.Priority'),
    );
  });

  test('an unknown field, or an item without a field, is InvalidParameter naming it', () => {
    assert.deepEqual(failure(specs, { 'Tag.1.Key': 'a', 'Tag.1.Colour': 'red' }), invalid('Tag.1.Colour'));
    assert.deepEqual(failure(specs, { 'Tag.1': 'a' }), invalid('Tag.1'));
    assert.deepEqual(failure(specs, { 'Tag.1.Key': 'a', 'Tag.1.': 'b' }), invalid('Tag.1.'));
    // Names every object inherits are no more a field than any other unknown name.
    for (const field of ['constructor', '__proto__', 'toString', 'hasOwnProperty'])
      assert.deepEqual(
        failure(specs, { 'Tag.1.Key': 'a', [`Tag.1.${field}`]: '1' }),
        invalid(`Tag.1.${field}`),
        field,
      );
  });

  test('a list of objects past maxItems is refused', () => {
    assert.deepEqual(failure(specs, { 'Tag.3.Key': 'c' }), invalid('Tag.3.Key'));
    // As past maxItems, not as an item without its required field.
    assert.deepEqual(failure(specs, { 'Tag.3.Value': 'v' }), invalid('Tag.3.Value'));
  });
});
