import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorsMarkdown, errorsOf, operationsMarkdown } from '../../src/api/docs.js';
import { OPERATIONS } from '../../src/api/registry.js';

test('docs/errors.md is what the error factories and the operation table generate (run npm run docs)', () => {
  assert.equal(readFileSync('docs/errors.md', 'utf8'), errorsMarkdown(OPERATIONS));
});

test('docs/operations.md is what the operation table generates (run npm run docs)', () => {
  assert.equal(readFileSync('docs/operations.md', 'utf8'), operationsMarkdown(OPERATIONS));
});

test('every operation names its RAM action, a resource and a summary', () => {
  for (const op of OPERATIONS.values()) {
    assert.equal(op.ramAction, `vpc:${op.action}`);
    assert.ok(
      op.resourceDoc === '*' || op.resourceDoc.startsWith('acs:vpc:'),
      `${op.action}: ${op.resourceDoc}`,
    );
    assert.ok(op.summary.length > 10, op.action);
  }
});

test('every operation that takes DryRun documents DryRunOperation, and ClientToken the token errors it can meet', () => {
  for (const op of OPERATIONS.values()) {
    const codes = errorsOf(op).map((e) => e.code);
    assert.equal(codes.includes('DryRunOperation'), op.dryRun, op.action);
    assert.equal(codes.includes('OperationFailed.LastTokenProcessing'), op.clientToken, op.action);
    // A retry can differ only in a parameter the token's key leaves out (not the region):
    // OpenTrafficMirrorService has none.
    assert.equal(
      codes.includes('IdempotentParameterMismatch'),
      op.clientToken && op.action !== 'OpenTrafficMirrorService',
      op.action,
    );
  }
});
