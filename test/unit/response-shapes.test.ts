/**
 * Every operation's declared answer against the response model of the official SDK
 * (@alicloud/vpc20160428): each field we answer is a field of the model, with the JSON type the
 * model casts it to. The API test (test/api/response-shapes.test.ts) holds real answers to the
 * declarations, so together they hold real answers to the SDK's models.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Vpc from '@alicloud/vpc20160428';
import { OPERATIONS } from '../../src/api/registry.js';
import type { ResponseShape, ResponseSpec } from '../../src/api/response.js';

interface TeaModelClass {
  names(): Record<string, string>;
  types(): Record<string, unknown>;
}

function isModel(v: unknown): v is TeaModelClass {
  return typeof v === 'function' && 'names' in v && 'types' in v;
}

/** Where a declared shape departs from an SDK model (wire names and JSON types). */
function disagreements(shape: ResponseShape, model: TeaModelClass, path: string): string[] {
  const names = model.names();
  const types = model.types();
  const byWire = new Map(Object.entries(names).map(([prop, wire]) => [wire, types[prop]]));
  const out: string[] = [];
  for (const [field, spec] of Object.entries(shape)) {
    if (!byWire.has(field)) out.push(`${path}${field}: not in the SDK's model`);
    else out.push(...specDisagreements(spec, byWire.get(field), `${path}${field}`));
  }
  return out;
}

function specDisagreements(spec: ResponseSpec, sdk: unknown, at: string): string[] {
  const scalar = { string: 'string', integer: 'number', boolean: 'boolean' } as const;
  if (typeof spec === 'string')
    return sdk === scalar[spec] ? [] : [`${at}: ${spec} here, ${String(sdk)} in the SDK`];
  if ('wrapped' in spec) {
    if (!isModel(sdk)) return [`${at}: a wrapper object here, ${String(sdk)} in the SDK`];
    return disagreements({ [spec.wrapped]: { list: spec.list } }, sdk, `${at}.`);
  }
  if ('list' in spec) {
    const array = sdk as { type?: unknown; itemType?: unknown } | undefined;
    if (array?.type !== 'array') return [`${at}: a list here, not in the SDK`];
    return specDisagreements(spec.list, array.itemType, `${at}[]`);
  }
  if (!isModel(sdk)) return [`${at}: an object here, ${String(sdk)} in the SDK`];
  return disagreements(spec.fields, sdk, `${at}.`);
}

test('every answer the operations declare is one the official SDK reads: its fields and JSON types', () => {
  const models = Vpc as unknown as Record<string, unknown>;
  assert.equal(OPERATIONS.size, 20);
  for (const op of OPERATIONS.values()) {
    const model = models[`${op.action}ResponseBody`];
    assert.ok(isModel(model), `${op.action}: no response model in the SDK`);
    assert.deepEqual(disagreements({ RequestId: 'string', ...op.response }, model, ''), [], op.action);
  }
});

test('the comparison finds a field the SDK lacks and a type it reads otherwise', () => {
  const model = (Vpc as unknown as Record<string, unknown>).CreateTrafficMirrorSessionResponseBody;
  assert.ok(isModel(model));
  assert.deepEqual(disagreements({ TrafficMirrorSessionId: 'integer', Extra: 'string' }, model, ''), [
    'TrafficMirrorSessionId: integer here, string in the SDK',
    "Extra: not in the SDK's model",
  ]);
});
