/**
 * Response shapes as data. Each operation declares the body it answers once (RequestId is the
 * envelope's): the operation docs render it, and the tests hold every real answer, and the
 * official SDK's response models, to it.
 */

export type ResponseScalar = 'string' | 'integer' | 'boolean';

/** A JSON array of items (`"Sessions": [ … ]`). */
export interface ResponseList {
  readonly list: ResponseSpec;
}

/** The RPC wrapper form, `"Regions": { "Region": [ … ] }`, which the XML form also keeps. */
export interface ResponseWrapped {
  readonly wrapped: string;
  readonly list: ResponseSpec;
}

export interface ResponseObject {
  readonly fields: ResponseShape;
}

export type ResponseSpec = ResponseScalar | ResponseList | ResponseWrapped | ResponseObject;
export type ResponseShape = Readonly<Record<string, ResponseSpec>>;

/** `string`, `list of { A string, B integer }`, … for the docs. */
export function describeResponseSpec(spec: ResponseSpec): string {
  if (typeof spec === 'string') return spec;
  if ('wrapped' in spec) return `{ \`${spec.wrapped}\`: list of ${describeResponseSpec(spec.list)} }`;
  if ('list' in spec) return `list of ${describeResponseSpec(spec.list)}`;
  return `{ ${describeResponseShape(spec.fields)} }`;
}

export function describeResponseShape(shape: ResponseShape): string {
  return Object.entries(shape)
    .map(([name, spec]) => `\`${name}\` ${describeResponseSpec(spec)}`)
    .join(', ');
}

/**
 * Where a JSON answer departs from a shape: a missing or undeclared field, or a value of another
 * JSON type. Empty when it matches.
 */
export function responseProblems(shape: ResponseShape, value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [`${path || '(body)'} is not an object`];
  const body = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(shape)) {
    const at = path ? `${path}.${name}` : name;
    if (!(name in body)) problems.push(`${at} is missing`);
    else problems.push(...specProblems(spec, body[name], at));
  }
  for (const name of Object.keys(body))
    if (!(name in shape)) problems.push(`${path ? `${path}.${name}` : name} is not declared`);
  return problems;
}

function specProblems(spec: ResponseSpec, value: unknown, at: string): string[] {
  if (spec === 'string') return typeof value === 'string' ? [] : [`${at} is not a string`];
  if (spec === 'integer') return Number.isInteger(value) ? [] : [`${at} is not an integer`];
  if (spec === 'boolean') return typeof value === 'boolean' ? [] : [`${at} is not a boolean`];
  if ('wrapped' in spec) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return [`${at} is not an object`];
    return responseProblems({ [spec.wrapped]: { list: spec.list } }, value, at);
  }
  if ('list' in spec) {
    if (!Array.isArray(value)) return [`${at} is not an array`];
    return value.flatMap((item, i) => specProblems(spec.list, item, `${at}[${i}]`));
  }
  return responseProblems(spec.fields, value, at);
}
