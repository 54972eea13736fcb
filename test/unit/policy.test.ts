/**
 * RAM policy language and evaluation (protocol.md §11.2–§11.4): parsing, action/resource
 * matching, every condition operator, deny precedence and the built-in system policies.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PolicyDocument, PolicyDocumentError, parsePolicyDocument } from '../../src/policy/document.js';
import { evaluatePolicies } from '../../src/policy/evaluate.js';
import { SYSTEM_POLICIES } from '../../src/policy/system-policies.js';

type Outcome = 'Allowed' | 'ExplicitDeny' | 'ImplicitDeny';

const FILTER_ARN = 'acs:vpc:cn-hongkong:1234567890123456:trafficmirrorfilter/tmf-abc';
const OTHER_FILTER_ARN = 'acs:vpc:cn-hongkong:1234567890123456:trafficmirrorfilter/tmf-xyz';

function doc(...statements: unknown[]): PolicyDocument {
  return parsePolicyDocument({ Version: '1', Statement: statements });
}

function decide(
  policies: readonly PolicyDocument[],
  action: string,
  resources: readonly string[] = ['*'],
  context: Record<string, string | string[]> = {},
): Outcome {
  const map = new Map(Object.entries(context).map(([k, v]) => [k, typeof v === 'string' ? [v] : v]));
  const decision = evaluatePolicies(policies, { action, resources, context: map });
  return decision.allowed ? 'Allowed' : decision.noPermissionType;
}

describe('action matching', () => {
  const cases: [pattern: string | string[], action: string, matches: boolean][] = [
    ['vpc:*', 'vpc:CreateTrafficMirrorFilter', true],
    ['vpc:*', 'ecs:DescribeInstances', false],
    ['vpc:Delete*', 'vpc:DeleteTrafficMirrorFilter', true],
    ['vpc:Delete*', 'vpc:CreateTrafficMirrorFilter', false],
    ['*', 'ecs:DescribeInstances', true],
    ['vpc:?ist*', 'vpc:ListTrafficMirrorFilters', true],
    ['vpc:?ist*', 'vpc:ist', false],
    ['vpc:?ist*', 'vpc:DescribeRegions', false],
    ['vpc:*TrafficMirrorFilter*', 'vpc:UpdateTrafficMirrorFilterAttribute', true],
    ['vpc:DescribeRegions', 'vpc:DescribeRegions', true],
    ['vpc:DescribeRegions', 'vpc:DescribeRegionsX', false],
    ['VPC:describeregions', 'vpc:DescribeRegions', true],
    ['vpc:describe*', 'VPC:DescribeRegions', true],
    ['vpc:List.', 'vpc:Lists', false],
    [['ecs:*', 'vpc:Get*'], 'vpc:GetTrafficMirrorServiceStatus', true],
    [['ecs:*', 'vpc:Get*'], 'vpc:ListTrafficMirrorFilters', false],
  ];
  for (const [pattern, action, matches] of cases) {
    it(`${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${action}`, () => {
      const policy = doc({ Effect: 'Allow', Action: pattern, Resource: '*' });
      assert.equal(decide([policy], action), matches ? 'Allowed' : 'ImplicitDeny');
    });
  }
});

describe('NotAction', () => {
  const allowAllButDelete = doc({ Effect: 'Allow', NotAction: 'vpc:Delete*', Resource: '*' });
  const denyAllButRead = doc(
    { Effect: 'Allow', Action: 'vpc:*', Resource: '*' },
    { Effect: 'Deny', NotAction: ['vpc:Describe*', 'vpc:List*'], Resource: '*' },
  );
  const cases: [name: string, policy: PolicyDocument, action: string, outcome: Outcome][] = [
    [
      'Allow NotAction grants an unlisted action',
      allowAllButDelete,
      'vpc:CreateTrafficMirrorFilter',
      'Allowed',
    ],
    ['Allow NotAction grants other services', allowAllButDelete, 'ecs:DescribeInstances', 'Allowed'],
    [
      'Allow NotAction withholds a listed action',
      allowAllButDelete,
      'vpc:DeleteTrafficMirrorFilter',
      'ImplicitDeny',
    ],
    ['Allow NotAction compares case-insensitively', allowAllButDelete, 'VPC:deleteX', 'ImplicitDeny'],
    [
      'Deny NotAction denies an unlisted action',
      denyAllButRead,
      'vpc:CreateTrafficMirrorFilter',
      'ExplicitDeny',
    ],
    ['Deny NotAction spares a listed action', denyAllButRead, 'vpc:ListTrafficMirrorFilters', 'Allowed'],
  ];
  for (const [name, policy, action, outcome] of cases) {
    it(name, () => assert.equal(decide([policy], action), outcome));
  }
});

describe('resource matching', () => {
  const cases: [pattern: string | string[], resource: string, matches: boolean][] = [
    ['*', FILTER_ARN, true],
    ['*', '*', true],
    [FILTER_ARN, FILTER_ARN, true],
    ['acs:vpc:cn-hongkong:*:trafficmirrorfilter/*', FILTER_ARN, true],
    ['acs:vpc:cn-hongkong:*:trafficmirrorfilter/*', 'acs:vpc:cn-hongkong:*:trafficmirrorfilter/*', true],
    ['acs:vpc:cn-shanghai:*:trafficmirrorfilter/*', FILTER_ARN, false],
    ['acs:vpc:*:*:trafficmirrorsession/*', FILTER_ARN, false],
    ['acs:vpc:cn-hongkong:*:trafficmirrorfilter/tmf-ab?', FILTER_ARN, true],
    ['acs:vpc:cn-hongkong:*:trafficmirrorfilter/tmf-a?', FILTER_ARN, false],
    ['acs:vpc:cn-hongkong:*:TrafficMirrorFilter/*', FILTER_ARN, false],
    ['acs:vpc:cn-hongkong:*:trafficmirrorfilter/TMF-ABC', FILTER_ARN, false],
    ['acs:vpc:*', '*', false],
    [['acs:ecs:*', 'acs:vpc:*:*:trafficmirrorfilter/tmf-abc'], FILTER_ARN, true],
  ];
  for (const [pattern, resource, matches] of cases) {
    it(`${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${resource}`, () => {
      const policy = doc({ Effect: 'Allow', Action: 'vpc:*', Resource: pattern });
      assert.equal(
        decide([policy], 'vpc:DeleteTrafficMirrorFilter', [resource]),
        matches ? 'Allowed' : 'ImplicitDeny',
      );
    });
  }

  it('NotResource grants everything except the listed resources', () => {
    const policy = doc({ Effect: 'Allow', Action: 'vpc:*', NotResource: '*:trafficmirrorfilter/tmf-abc' });
    assert.equal(decide([policy], 'vpc:DeleteTrafficMirrorFilter', [OTHER_FILTER_ARN]), 'Allowed');
    assert.equal(decide([policy], 'vpc:DeleteTrafficMirrorFilter', [FILTER_ARN]), 'ImplicitDeny');
  });
});

describe('several resources in one request', () => {
  const action = 'vpc:DeleteTrafficMirrorFilter';
  const both = [FILTER_ARN, OTHER_FILTER_ARN];
  const allowAbc = { Effect: 'Allow', Action: 'vpc:*', Resource: '*/tmf-abc' };
  const allowXyz = { Effect: 'Allow', Action: 'vpc:*', Resource: '*/tmf-xyz' };
  const allowAll = { Effect: 'Allow', Action: 'vpc:*', Resource: '*' };
  const denyXyz = { Effect: 'Deny', Action: 'vpc:*', Resource: '*/tmf-xyz' };
  const cases: [name: string, policies: PolicyDocument[], outcome: Outcome][] = [
    ['an Allow covering all of them allows', [doc(allowAll)], 'Allowed'],
    ['an Allow covering only some of them does not', [doc(allowAbc)], 'ImplicitDeny'],
    ['Allows that together cover all of them allow', [doc(allowAbc), doc(allowXyz)], 'Allowed'],
    ['a Deny matching any one of them denies', [doc(allowAll, denyXyz)], 'ExplicitDeny'],
  ];
  for (const [name, policies, outcome] of cases) {
    it(name, () => assert.equal(decide(policies, action, both), outcome));
  }

  it("each resource is judged with its own values of resourceContext, never another resource's", () => {
    const devOnly = (effect: string) => ({
      Effect: effect,
      Action: 'vpc:*',
      Resource: '*',
      Condition: { StringEquals: { 'acs:ResourceTag/env': 'dev' } },
    });
    const tagged = (abc: string, xyz?: string) =>
      new Map([
        [FILTER_ARN, new Map([['acs:ResourceTag/env', [abc]]])],
        ...(xyz === undefined
          ? []
          : [[OTHER_FILTER_ARN, new Map([['acs:resourcetag/ENV', [xyz]]])] as const]),
      ]);
    const decideTagged = (policy: PolicyDocument[], resourceContext: ReturnType<typeof tagged>): Outcome => {
      const d = evaluatePolicies(policy, { action, resources: both, context: new Map(), resourceContext });
      return d.allowed ? 'Allowed' : d.noPermissionType;
    };
    assert.equal(decideTagged([doc(devOnly('Allow'))], tagged('dev', 'prod')), 'ImplicitDeny');
    assert.equal(decideTagged([doc(devOnly('Allow'))], tagged('dev')), 'ImplicitDeny');
    assert.equal(decideTagged([doc(devOnly('Allow'))], tagged('dev', 'dev')), 'Allowed');
    assert.equal(decideTagged([doc(allowAll, devOnly('Deny'))], tagged('prod', 'dev')), 'ExplicitDeny');
    assert.equal(decideTagged([doc(allowAll, devOnly('Deny'))], tagged('prod', 'prod')), 'Allowed');
  });

  it('an empty resource list is a caller error', () => {
    assert.throws(() => decide([doc(allowAll)], action, []), TypeError);
  });
});

describe('evaluation order', () => {
  const allow = { Effect: 'Allow', Action: 'vpc:*', Resource: '*' };
  const deny = { Effect: 'Deny', Action: 'vpc:Delete*', Resource: '*' };
  const denyOther = { Effect: 'Deny', Action: 'ecs:*', Resource: '*' };
  const cases: [name: string, policies: PolicyDocument[], action: string, outcome: Outcome][] = [
    ['Deny after Allow wins', [doc(allow, deny)], 'vpc:DeleteTrafficMirrorFilter', 'ExplicitDeny'],
    ['Deny before Allow wins', [doc(deny, allow)], 'vpc:DeleteTrafficMirrorFilter', 'ExplicitDeny'],
    ['Deny in another policy wins', [doc(allow), doc(deny)], 'vpc:DeleteTrafficMirrorFilter', 'ExplicitDeny'],
    [
      'a Deny for another action leaves the Allow',
      [doc(allow, deny)],
      'vpc:CreateTrafficMirrorFilter',
      'Allowed',
    ],
    ['no policies is an implicit deny', [], 'vpc:DescribeRegions', 'ImplicitDeny'],
    ['nothing matching is an implicit deny', [doc(denyOther)], 'vpc:DescribeRegions', 'ImplicitDeny'],
    ['an unmatched Deny alone is an implicit deny', [doc(deny)], 'vpc:DescribeRegions', 'ImplicitDeny'],
  ];
  for (const [name, policies, action, outcome] of cases) {
    it(name, () => assert.equal(decide(policies, action), outcome));
  }
});

describe('condition operators', () => {
  // [operator, policy value(s), request value (undefined = key absent), holds]
  const cases: [string, unknown, string | string[] | undefined, boolean][] = [
    ['StringEquals', 'alice', 'alice', true],
    ['StringEquals', 'alice', 'Alice', false],
    ['StringEquals', 'alice', undefined, false],
    ['StringNotEquals', 'alice', 'bob', true],
    ['StringNotEquals', 'alice', 'alice', false],
    ['StringNotEquals', 'alice', undefined, true],
    ['StringEqualsIgnoreCase', 'Alice', 'aLICE', true],
    ['StringEqualsIgnoreCase', 'Alice', 'bob', false],
    ['StringEqualsIgnoreCase', 'Alice', undefined, false],
    ['StringNotEqualsIgnoreCase', 'Alice', 'bob', true],
    ['StringNotEqualsIgnoreCase', 'Alice', 'aLICE', false],
    ['StringNotEqualsIgnoreCase', 'Alice', undefined, true],
    ['StringLike', 'dev-*-?', 'dev-web-1', true],
    ['StringLike', 'dev-*-?', 'dev-web-10', false],
    ['StringLike', 'dev-*', 'DEV-web', false],
    ['StringLike', 'a.c', 'abc', false],
    ['StringLike', 'dev-*', undefined, false],
    ['StringNotLike', 'dev-*', 'prod-web', true],
    ['StringNotLike', 'dev-*', 'dev-web', false],
    ['StringNotLike', 'dev-*', undefined, true],
    ['NumericEquals', 10, '10.0', true],
    ['NumericEquals', '10', '11', false],
    ['NumericEquals', 10, 'ten', false],
    ['NumericEquals', 10, undefined, false],
    ['NumericNotEquals', 10, '11', true],
    ['NumericNotEquals', 10, '1e1', false],
    ['NumericNotEquals', 10, undefined, true],
    ['NumericLessThan', 10, '9.5', true],
    ['NumericLessThan', 10, '10', false],
    ['NumericLessThan', 10, undefined, false],
    ['NumericLessThanEquals', 10, '10', true],
    ['NumericLessThanEquals', 10, '10.5', false],
    ['NumericLessThanEquals', 10, undefined, false],
    ['NumericGreaterThan', -1, '0', true],
    ['NumericGreaterThan', -1, '-1', false],
    ['NumericGreaterThan', -1, undefined, false],
    ['NumericGreaterThanEquals', '-1', '-1', true],
    ['NumericGreaterThanEquals', '-1', '-2', false],
    ['NumericGreaterThanEquals', '-1', undefined, false],
    ['DateEquals', '2024-06-01T20:00:00+08:00', '2024-06-01T12:00:00Z', true],
    ['DateEquals', '2024-06-01T12:00:00Z', '2024-06-01T12:00:01Z', false],
    ['DateEquals', '2024-06-01T12:00:00Z', 'yesterday', false],
    ['DateEquals', '2024-06-01T12:00:00Z', undefined, false],
    ['DateNotEquals', '2024-06-01T12:00:00Z', '2024-06-01T12:00:01Z', true],
    ['DateNotEquals', '2024-06-01', '2024-06-01T00:00:00.000Z', false],
    ['DateNotEquals', '2024-06-01', undefined, true],
    ['DateLessThan', '2025-01-01T00:00:00Z', '2024-12-31T23:59:59.999Z', true],
    ['DateLessThan', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', false],
    ['DateLessThan', '2025-01-01T00:00:00Z', undefined, false],
    ['DateEquals', '2024-06-01T12:00:00.291Z', '2024-06-01T12:00:00.291000Z', true],
    ['DateEquals', '2024-02-29T00:00:00Z', '2024-02-29', true],
    ['DateEquals', '2024-02-29T00:00:00Z', '2024-02-29T01:30+01:30', true],
    ['DateLessThanEquals', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', true],
    ['DateLessThanEquals', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00.001Z', false],
    ['DateLessThanEquals', '2025-01-01T00:00:00Z', undefined, false],
    ['DateGreaterThan', '2025-01-01T00:00:00Z', '2025-01-01T08:00:01+08:00', true],
    ['DateGreaterThan', '2025-01-01T00:00:00Z', '2025-01-01T08:00:00+08:00', false],
    ['DateGreaterThan', '2025-01-01T00:00:00Z', undefined, false],
    ['DateGreaterThanEquals', '2025-01-01', '2025-01-01T00:00:00Z', true],
    ['DateGreaterThanEquals', '2025-01-01', '2024-12-31T23:59:59Z', false],
    ['DateGreaterThanEquals', '2025-01-01', undefined, false],
    ['Bool', true, 'TRUE', true],
    ['Bool', 'true', 'false', false],
    ['Bool', 'False', 'false', true],
    ['Bool', true, 'yes', false],
    ['Bool', true, undefined, false],
    ['IpAddress', '10.0.0.0/8', '10.20.30.40', true],
    ['IpAddress', '10.0.0.0/8', '11.0.0.1', false],
    ['IpAddress', '10.0.0.0/8', 'not-an-ip', false],
    ['IpAddress', '10.0.0.0/8', undefined, false],
    ['NotIpAddress', '10.0.0.0/8', '192.168.0.1', true],
    ['NotIpAddress', '10.0.0.0/8', '10.0.0.1', false],
    ['NotIpAddress', '10.0.0.0/8', undefined, true],
  ];
  for (const [operator, policyValue, requestValue, holds] of cases) {
    const shown = requestValue === undefined ? 'absent' : JSON.stringify(requestValue);
    it(`${operator} ${JSON.stringify(policyValue)} vs ${shown} ${holds ? 'holds' : 'fails'}`, () => {
      const policy = doc({
        Effect: 'Allow',
        Action: 'vpc:*',
        Resource: '*',
        Condition: { [operator]: { 'test:Key': policyValue } },
      });
      const context = requestValue === undefined ? {} : { 'test:Key': requestValue };
      assert.equal(
        decide([policy], 'vpc:DescribeRegions', ['*'], context),
        holds ? 'Allowed' : 'ImplicitDeny',
      );
    });
  }

  it('a condition on a Deny decides whether it applies', () => {
    const policy = doc(
      { Effect: 'Allow', Action: 'vpc:*', Resource: '*' },
      {
        Effect: 'Deny',
        Action: 'vpc:*',
        Resource: '*',
        Condition: { Bool: { 'acs:SecureTransport': false } },
      },
    );
    assert.equal(
      decide([policy], 'vpc:DescribeRegions', ['*'], { 'acs:SecureTransport': 'false' }),
      'ExplicitDeny',
    );
    assert.equal(
      decide([policy], 'vpc:DescribeRegions', ['*'], { 'acs:SecureTransport': 'true' }),
      'Allowed',
    );
  });
});

describe('IP address conditions', () => {
  // [policy values, request address, inside]
  const cases: [string[], string, boolean][] = [
    [['10.0.0.0/8'], '10.255.255.255', true],
    [['192.168.1.0/24'], '192.168.2.1', false],
    [['192.168.1.7'], '192.168.1.7', true],
    [['192.168.1.7'], '192.168.1.8', false],
    [['192.168.1.7/32'], '192.168.1.7', true],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['10.0.0.0/8'], '::ffff:10.1.2.3', true],
    [['2001:db8::/32'], '2001:db8:abcd::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['2001:DB8::1'], '2001:db8::1', true],
    [['2001:db8::/32'], '10.0.0.1', false],
    [['10.0.0.0/8'], '2001:db8::1', false],
    [['172.16.0.0/12', '2001:db8::/32'], '2001:db8::5', true],
    // An IPv6 block never holds an IPv4 caller, however wide (node compares IPv4 as ::ffff:a.b.c.d).
    [['::/0'], '10.1.1.1', false],
    [['::/1'], '127.0.0.1', false],
    [['::/0'], '::ffff:10.1.2.3', false],
    // An IPv4-mapped block in a policy names IPv4 callers.
    [['::ffff:10.0.0.0/104'], '10.0.0.5', true],
    [['::ffff:10.0.0.0/104'], '11.0.0.5', false],
    [['::FFFF:192.168.1.7'], '192.168.1.7', true],
    // … however the mapped address is written.
    [['0:0:0:0:0:ffff:10.0.0.0/104'], '10.0.0.5', true],
    [['::ffff:a00:0/104'], '10.0.0.5', true],
    [['::ffff:a00:0/104'], '11.0.0.1', false],
    [['::ffff:0:0/96'], '10.0.0.1', true],
  ];
  for (const [values, address, inside] of cases) {
    it(`${address} ${inside ? 'is' : 'is not'} in ${values.join(', ')}`, () => {
      const policy = doc({
        Effect: 'Allow',
        Action: 'vpc:*',
        Resource: '*',
        Condition: { IpAddress: { 'acs:SourceIp': values } },
      });
      const outcome = decide([policy], 'vpc:DescribeRegions', ['*'], { 'acs:SourceIp': address });
      assert.equal(outcome, inside ? 'Allowed' : 'ImplicitDeny');
    });
  }

  it('NotIpAddress with an IPv6 block holds for an IPv4 caller', () => {
    const policy = doc({
      Effect: 'Allow',
      Action: 'vpc:*',
      Resource: '*',
      Condition: { NotIpAddress: { 'acs:SourceIp': '::/0' } },
    });
    assert.equal(decide([policy], 'vpc:DescribeRegions', ['*'], { 'acs:SourceIp': '10.1.1.1' }), 'Allowed');
    assert.equal(
      decide([policy], 'vpc:DescribeRegions', ['*'], { 'acs:SourceIp': '2001:db8::1' }),
      'ImplicitDeny',
    );
  });
});

describe('condition logic', () => {
  const policy = (condition: unknown) =>
    doc({ Effect: 'Allow', Action: 'vpc:*', Resource: '*', Condition: condition });
  const twoKeys = policy({ StringEquals: { 'acs:AccessId': 'AK1', 'acs:MFAPresent': 'true' } });
  const twoOperators = policy({
    IpAddress: { 'acs:SourceIp': '10.0.0.0/8' },
    DateLessThan: { 'acs:CurrentTime': '2030-01-01T00:00:00Z' },
  });
  const threeValues = policy({ StringEquals: { 'acs:AccessId': ['AK1', 'AK2', 'AK3'] } });
  const negatedValues = policy({ StringNotEquals: { 'acs:AccessId': ['AK1', 'AK2'] } });
  const cases: [name: string, policy: PolicyDocument, context: Record<string, string | string[]>, Outcome][] =
    [
      ['several values for one key: any may match', threeValues, { 'acs:AccessId': 'AK2' }, 'Allowed'],
      [
        'several values for one key: none matching fails',
        threeValues,
        { 'acs:AccessId': 'AK9' },
        'ImplicitDeny',
      ],
      [
        'negated operator with several values: none matching holds',
        negatedValues,
        { 'acs:AccessId': 'AK9' },
        'Allowed',
      ],
      [
        'negated operator with several values: one matching fails',
        negatedValues,
        { 'acs:AccessId': 'AK2' },
        'ImplicitDeny',
      ],
      // A key with several request values (tags whose keys differ only in case): an Allow must hold
      // for each of them.
      [
        'several request values: an Allow needs each',
        threeValues,
        { 'acs:AccessId': ['AK9', 'AK3'] },
        'ImplicitDeny',
      ],
      ['several request values: each matching', threeValues, { 'acs:AccessId': ['AK2', 'AK3'] }, 'Allowed'],
      ['several keys: all hold', twoKeys, { 'acs:AccessId': 'AK1', 'acs:MFAPresent': 'true' }, 'Allowed'],
      [
        'several keys: one fails',
        twoKeys,
        { 'acs:AccessId': 'AK1', 'acs:MFAPresent': 'false' },
        'ImplicitDeny',
      ],
      ['several keys: one absent', twoKeys, { 'acs:AccessId': 'AK1' }, 'ImplicitDeny'],
      [
        'several operators: all hold',
        twoOperators,
        { 'acs:SourceIp': '10.1.1.1', 'acs:CurrentTime': '2026-11-26T04:00:00Z' },
        'Allowed',
      ],
      [
        'several operators: one fails',
        twoOperators,
        { 'acs:SourceIp': '10.1.1.1', 'acs:CurrentTime': '2031-01-01T00:00:00Z' },
        'ImplicitDeny',
      ],
      ['keys are case-insensitive (request side)', threeValues, { 'ACS:accessid': 'AK1' }, 'Allowed'],
      ['key case does not change values', threeValues, { 'acs:accessid': 'ak1' }, 'ImplicitDeny'],
      [
        'keys are case-insensitive (policy side)',
        policy({ IpAddress: { 'acs:sourceip': '10.0.0.0/8' } }),
        { 'acs:SourceIp': '10.0.0.1' },
        'Allowed',
      ],
    ];
  for (const [name, p, context, outcome] of cases) {
    it(name, () => assert.equal(decide([p], 'vpc:DescribeRegions', ['*'], context), outcome));
  }

  it('a Deny fires when any of several values of a key holds, an Allow only when all do, negated or not', () => {
    const cond = (effect: string, operator: string) => ({
      Effect: effect,
      Action: 'vpc:*',
      Resource: '*',
      Condition: { [operator]: { 'acs:RequestTag/env': 'prod' } },
    });
    const allowAll = { Effect: 'Allow', Action: 'vpc:*', Resource: '*' };
    const mixed = { 'acs:requesttag/env': ['dev', 'prod'] };
    const run = (statements: unknown[], context: Record<string, string[]>) =>
      decide([doc(...statements)], 'vpc:TagResources', ['*'], context);
    assert.equal(run([cond('Allow', 'StringEquals')], mixed), 'ImplicitDeny');
    assert.equal(run([cond('Allow', 'StringEquals')], { 'acs:requesttag/env': ['prod', 'prod'] }), 'Allowed');
    assert.equal(run([cond('Allow', 'StringNotEquals')], mixed), 'ImplicitDeny');
    assert.equal(run([allowAll, cond('Deny', 'StringEquals')], mixed), 'ExplicitDeny');
    assert.equal(run([allowAll, cond('Deny', 'StringNotEquals')], mixed), 'ExplicitDeny');
    assert.equal(
      run([allowAll, cond('Deny', 'StringNotEquals')], { 'acs:requesttag/env': ['prod'] }),
      'Allowed',
    );
  });
});

describe('system policies', () => {
  const full = SYSTEM_POLICIES.get('AliyunVPCFullAccess');
  const readOnly = SYSTEM_POLICIES.get('AliyunVPCReadOnlyAccess');
  const cases: [name: string, policy: PolicyDocument | undefined, action: string, outcome: Outcome][] = [
    ['AliyunVPCFullAccess allows writes', full, 'vpc:DeleteTrafficMirrorFilter', 'Allowed'],
    ['AliyunVPCFullAccess allows reads', full, 'vpc:ListTrafficMirrorFilters', 'Allowed'],
    ['AliyunVPCFullAccess stops at VPC', full, 'ecs:DescribeInstances', 'ImplicitDeny'],
    ['AliyunVPCReadOnlyAccess allows Describe*', readOnly, 'vpc:DescribeRegions', 'Allowed'],
    ['AliyunVPCReadOnlyAccess allows List*', readOnly, 'vpc:ListTrafficMirrorFilters', 'Allowed'],
    ['AliyunVPCReadOnlyAccess allows Get*', readOnly, 'vpc:GetTrafficMirrorServiceStatus', 'Allowed'],
    ['AliyunVPCReadOnlyAccess refuses Create*', readOnly, 'vpc:CreateTrafficMirrorFilter', 'ImplicitDeny'],
    ['AliyunVPCReadOnlyAccess refuses Delete*', readOnly, 'vpc:DeleteTrafficMirrorFilter', 'ImplicitDeny'],
  ];
  for (const [name, policy, action, outcome] of cases) {
    it(name, () => {
      assert.ok(policy);
      assert.equal(decide([policy], action, [FILTER_ARN]), outcome);
    });
  }

  it('holds exactly the two VPC policies', () => {
    assert.deepEqual([...SYSTEM_POLICIES.keys()].sort(), ['AliyunVPCFullAccess', 'AliyunVPCReadOnlyAccess']);
  });
});

describe('parsePolicyDocument normalisation', () => {
  it('accepts JSON text and a single statement object, and returns arrays everywhere', () => {
    const parsed = parsePolicyDocument(
      JSON.stringify({
        Version: '1',
        Statement: {
          Effect: 'Deny',
          NotAction: 'vpc:Describe*',
          Resource: FILTER_ARN,
          Condition: { NumericLessThan: { 'acs:Count': 5 }, Bool: { 'acs:MFAPresent': false } },
        },
      }),
    );
    assert.equal(parsed.version, '1');
    assert.equal(parsed.statements.length, 1);
    const [statement] = parsed.statements;
    assert.ok(statement);
    assert.equal(statement.effect, 'Deny');
    assert.deepEqual(statement.actions, ['vpc:Describe*']);
    assert.equal(statement.notAction, true);
    assert.deepEqual(statement.resources, [FILTER_ARN]);
    assert.equal(statement.notResource, false);
    assert.deepEqual(
      statement.conditions.map((c) => [c.operator, c.key, c.contextKey, c.values, c.negated]),
      [
        ['NumericLessThan', 'acs:Count', 'acs:count', ['5'], false],
        ['Bool', 'acs:MFAPresent', 'acs:mfapresent', ['false'], false],
      ],
    );
  });

  it('marks negated operators', () => {
    const parsed = doc({
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
      Condition: { NotIpAddress: { k: '::1' } },
    });
    assert.equal(parsed.statements[0]?.conditions[0]?.negated, true);
  });
});

describe('parsePolicyDocument errors', () => {
  const ok = { Effect: 'Allow', Action: 'vpc:*', Resource: '*' };
  const withStatement = (statement: unknown) => ({ Version: '1', Statement: [ok, statement] });
  const withCondition = (condition: unknown) => withStatement({ ...ok, Condition: condition });
  const cases: [name: string, input: unknown, message: string][] = [
    ['invalid JSON', '{"Version":', 'Policy document is not valid JSON: '],
    ['not an object', '[]', 'Policy document must be a JSON object, got an array'],
    ['null document', null, 'Policy document must be a JSON object, got null'],
    [
      'unknown top-level element',
      { Version: '1', Statement: [ok], Id: 'x' },
      'Id is not a recognised policy element',
    ],
    ['missing Version', { Statement: [ok] }, 'Version is required'],
    ['wrong Version', { Version: '2012-10-17', Statement: [ok] }, 'Version must be "1", got "2012-10-17"'],
    ['numeric Version', { Version: 1, Statement: [ok] }, 'Version must be "1", got 1'],
    ['missing Statement', { Version: '1' }, 'Statement is required'],
    ['empty Statement', { Version: '1', Statement: [] }, 'Statement must not be an empty array'],
    [
      'Statement of wrong type',
      { Version: '1', Statement: 'x' },
      'Statement must be an array or an object, got a string',
    ],
    ['statement not an object', withStatement(42), 'Statement[1] must be an object, got a number'],
    [
      'unknown statement element',
      withStatement({ ...ok, Sid: 'a' }),
      'Statement[1].Sid is not a recognised policy element',
    ],
    ['missing Effect', withStatement({ Action: '*', Resource: '*' }), 'Statement[1].Effect is required'],
    [
      'bad Effect',
      withStatement({ ...ok, Effect: 'allow' }),
      'Statement[1].Effect must be "Allow" or "Deny"',
    ],
    [
      'bad Effect in a single statement',
      { Version: '1', Statement: { ...ok, Effect: 'Permit' } },
      'Statement.Effect must be "Allow" or "Deny"',
    ],
    [
      'neither Action nor NotAction',
      withStatement({ Effect: 'Allow', Resource: '*' }),
      'Statement[1] must contain exactly one of Action or NotAction',
    ],
    [
      'both Action and NotAction',
      withStatement({ ...ok, NotAction: 'vpc:Delete*' }),
      'Statement[1] must contain exactly one of Action or NotAction',
    ],
    [
      'Action of wrong type',
      withStatement({ ...ok, Action: 7 }),
      'Statement[1].Action must be a string, got a number',
    ],
    [
      'Action item of wrong type',
      withStatement({ ...ok, Action: ['vpc:*', null] }),
      'Statement[1].Action[1] must be a string, got null',
    ],
    [
      'empty Action array',
      withStatement({ ...ok, Action: [] }),
      'Statement[1].Action must not be an empty array',
    ],
    [
      'empty Action string',
      withStatement({ ...ok, Action: '' }),
      'Statement[1].Action must not be an empty string',
    ],
    [
      'Action without a service',
      withStatement({ ...ok, Action: ['vpc:*', 'DescribeRegions'] }),
      'Statement[1].Action[1] must be "*" or "<service>:<action>", got "DescribeRegions"',
    ],
    [
      'neither Resource nor NotResource',
      withStatement({ Effect: 'Allow', Action: '*' }),
      'Statement[1] must contain exactly one of Resource or NotResource',
    ],
    [
      'both Resource and NotResource',
      withStatement({ ...ok, NotResource: '*' }),
      'Statement[1] must contain exactly one of Resource or NotResource',
    ],
    [
      'Resource of wrong type',
      withStatement({ ...ok, Resource: { arn: '*' } }),
      'Statement[1].Resource must be a string, got an object',
    ],
    ['Condition not an object', withCondition('x'), 'Statement[1].Condition must be an object, got a string'],
    [
      'unknown operator',
      withCondition({ StringEqualsIfExists: { k: 'v' } }),
      'Statement[1].Condition.StringEqualsIfExists is not a supported condition operator',
    ],
    [
      'qualified operator',
      withCondition({ 'ForAnyValue:StringEquals': { k: 'v' } }),
      'Statement[1].Condition["ForAnyValue:StringEquals"] is not a supported condition operator',
    ],
    [
      'operator block not an object',
      withCondition({ StringEquals: ['v'] }),
      'Statement[1].Condition.StringEquals must be an object of condition keys, got an array',
    ],
    [
      'operator block without keys',
      withCondition({ StringEquals: {} }),
      'Statement[1].Condition.StringEquals must contain at least one condition key',
    ],
    [
      'empty condition key',
      withCondition({ StringEquals: { '': 'v' } }),
      'Statement[1].Condition.StringEquals has an empty condition key',
    ],
    [
      'condition value of wrong type',
      withCondition({ StringEquals: { 'acs:AccessId': ['AK1', { a: 1 }] } }),
      'Statement[1].Condition.StringEquals["acs:AccessId"][1] must be a string, number or boolean, got an object',
    ],
    [
      'empty condition value array',
      withCondition({ StringEquals: { 'acs:AccessId': [] } }),
      'Statement[1].Condition.StringEquals["acs:AccessId"] must not be an empty array',
    ],
    [
      'bad number',
      withCondition({ NumericLessThan: { 'acs:Count': ['1', '0x10'] } }),
      'Statement[1].Condition.NumericLessThan["acs:Count"][1] must be a number, got "0x10"',
    ],
    [
      'blank number',
      withCondition({ NumericEquals: { 'acs:Count': ' ' } }),
      'Statement[1].Condition.NumericEquals["acs:Count"] must be a number, got " "',
    ],
    [
      'bad date',
      withCondition({ DateLessThan: { 'acs:CurrentTime': 'tomorrow' } }),
      'Statement[1].Condition.DateLessThan["acs:CurrentTime"] must be an ISO 8601 date, got "tomorrow"',
    ],
    [
      'impossible calendar date',
      withCondition({ DateLessThan: { 'acs:CurrentTime': '2024-02-30T00:00:00Z' } }),
      'Statement[1].Condition.DateLessThan["acs:CurrentTime"] must be an ISO 8601 date, got "2024-02-30T00:00:00Z"',
    ],
    [
      'February 29th outside a leap year',
      withCondition({ DateEquals: { 'acs:CurrentTime': '1900-02-29' } }),
      'Statement[1].Condition.DateEquals["acs:CurrentTime"] must be an ISO 8601 date, got "1900-02-29"',
    ],
    [
      'bad boolean',
      withCondition({ Bool: { 'acs:SecureTransport': 'yes' } }),
      'Statement[1].Condition.Bool["acs:SecureTransport"] must be true or false, got "yes"',
    ],
    [
      'bad IP address',
      withCondition({ IpAddress: { 'acs:SourceIp': ['10.0.0.0/8', '10.0.0.256'] } }),
      'Statement[1].Condition.IpAddress["acs:SourceIp"][1] must be an IP address or CIDR block, got "10.0.0.256"',
    ],
    [
      'IPv4 prefix too long',
      withCondition({ IpAddress: { 'acs:SourceIp': '10.0.0.0/33' } }),
      'Statement[1].Condition.IpAddress["acs:SourceIp"] has an invalid prefix length in "10.0.0.0/33" (0-32 allowed)',
    ],
    [
      'IPv6 prefix too long',
      withCondition({ NotIpAddress: { 'acs:SourceIp': '2001:db8::/129' } }),
      'Statement[1].Condition.NotIpAddress["acs:SourceIp"] has an invalid prefix length in "2001:db8::/129" (0-128 allowed)',
    ],
    [
      'non-numeric prefix',
      withCondition({ IpAddress: { 'acs:SourceIp': '10.0.0.0/x' } }),
      'Statement[1].Condition.IpAddress["acs:SourceIp"] has an invalid prefix length in "10.0.0.0/x" (0-32 allowed)',
    ],
    [
      'IPv4-mapped prefix shorter than the mapped space',
      withCondition({ IpAddress: { 'acs:SourceIp': '::ffff:10.0.0.0/64' } }),
      'Statement[1].Condition.IpAddress["acs:SourceIp"] has an invalid prefix length in "::ffff:10.0.0.0/64" (96-128 for an IPv4-mapped address allowed)',
    ],
  ];
  for (const [name, input, message] of cases) {
    it(name, () => {
      assert.throws(
        () => parsePolicyDocument(input),
        (error: unknown) => {
          assert.ok(error instanceof PolicyDocumentError);
          assert.equal(error.name, 'PolicyDocumentError');
          if (message.endsWith(': ')) assert.ok(error.message.startsWith(message), error.message);
          else assert.equal(error.message, message);
          return true;
        },
      );
    });
  }
});
