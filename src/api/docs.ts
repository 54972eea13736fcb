/**
 * Generates docs/errors.md and docs/operations.md from the operation table and the error-factory
 * registry, so the documentation can never drift from what the server does. A unit test fails
 * when the committed files differ from what this produces (`npm run docs` rewrites them).
 */

import type { ErrorDoc, ErrorFactory } from '../protocol/define-error.js';
import { errorDocs } from '../protocol/define-error.js';
import { protocolErrors } from '../protocol/errors.js';
import { NOT_COMPARED, type RegisteredOperation } from './operation.js';
import { describeResponseShape } from './response.js';
import type { ParamSpec, ScalarSpec } from './schema.js';

/** Codes any operation can return, from the pipeline's own steps. */
const PIPELINE_ERRORS: readonly ErrorFactory<never>[] = [
  protocolErrors.unsupportedHttpMethod,
  protocolErrors.actionNotFound,
  protocolErrors.missingAccessKeyId,
  protocolErrors.invalidVersion,
  protocolErrors.accessKeyNotFound,
  protocolErrors.accessKeyInactive,
  protocolErrors.incompleteSignature,
  protocolErrors.signatureDoesNotMatch,
  protocolErrors.timestampExpired,
  protocolErrors.timestampFormat,
  protocolErrors.nonceUsed,
  protocolErrors.missingSecurityToken,
  protocolErrors.securityTokenExpired,
  protocolErrors.securityTokenMalformed,
  protocolErrors.securityTokenMismatch,
  protocolErrors.requestMalformed,
  protocolErrors.missingParameterShort,
  protocolErrors.invalidParameter,
  protocolErrors.forbiddenRam,
  protocolErrors.internalError,
  protocolErrors.serviceUnavailable,
];

/** Codes an operation can return because of how it is declared. */
export function errorsOf(op: RegisteredOperation): ErrorDoc[] {
  const factories: ErrorFactory<never>[] = [];
  if (Object.values(op.params).some((p) => p.type === 'string' && p.region === true)) {
    factories.push(protocolErrors.regionNotFound);
  }
  // MissingParameter names an item of a list (`Name.1`, `Tag.1.Key`) or one of two alternatives;
  // a missing scalar is Missing<Name>, common to every operation.
  const lists = Object.values(op.params).some(
    (p) =>
      (p.type === 'list' && p.required === true) ||
      (p.type === 'objectList' && (p.required === true || Object.values(p.fields).some((f) => f.required))),
  );
  if (lists || op.oneOf.length > 0) factories.push(protocolErrors.missingParameter);
  if (op.dryRun) factories.push(protocolErrors.dryRunOperation);
  // A retry can only differ from the first call in a parameter the comparison looks at.
  const compared = Object.keys(op.params).some((k) => !NOT_COMPARED.has(k));
  if (op.clientToken && compared) factories.push(protocolErrors.idempotentParameterMismatch);
  if (op.clientToken) factories.push(protocolErrors.lastTokenProcessing);
  factories.push(...op.errors);
  const seen = new Set<string>();
  const out: ErrorDoc[] = [];
  for (const f of factories) {
    if (seen.has(f.doc.code)) continue;
    seen.add(f.doc.code);
    out.push(f.doc);
  }
  return out;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function scalarText(s: ScalarSpec): string {
  const parts: string[] = [s.type === 'string' ? 'String' : s.type === 'integer' ? 'Integer' : 'Boolean'];
  if (s.type === 'string') {
    if (s.region) parts.push('a configured region');
    if (s.minLength !== undefined || s.maxLength !== undefined) {
      // A required parameter sent empty is missing (Missing<Name>), so its least length is 1.
      parts.push(`length ${s.minLength ?? (s.required ? 1 : 0)}-${s.maxLength ?? '∞'}`);
    }
    if (s.enum)
      parts.push(
        `one of ${s.enum.map((e) => `\`${e}\``).join(', ')}${s.caseInsensitive ? ' (any case)' : ''}`,
      );
    if (s.pattern) parts.push(`matches \`${s.pattern.source}\``);
    if (s.ascii) parts.push('printable ASCII');
    if (s.noUrlPrefix) parts.push('no http:// or https:// prefix');
  }
  if (s.type === 'integer' && (s.min !== undefined || s.max !== undefined))
    parts.push(`${s.min ?? '-∞'}-${s.max ?? '∞'}`);
  return parts.join(', ');
}

function paramRows(name: string, spec: ParamSpec): string[] {
  if (spec.type === 'list') {
    return [
      `| \`${name}.N\` | ${spec.required ? 'yes' : 'no'} | list of ${scalarText(spec.item)}; N ≤ ${spec.maxItems} | ${escapeCell(spec.doc ?? '')} |`,
    ];
  }
  if (spec.type === 'objectList') {
    return Object.entries(spec.fields).map(
      ([field, f]) =>
        `| \`${name}.N.${field}\` | ${spec.required && f.required ? 'yes' : f.required ? 'per item' : 'no'} | ${scalarText(f)}; N ≤ ${spec.maxItems} | ${escapeCell(f.doc ?? '')} |`,
    );
  }
  return [
    `| \`${name}\` | ${spec.required ? 'yes' : 'no'} | ${scalarText(spec)} | ${escapeCell(spec.doc ?? '')} |`,
  ];
}

export function operationsMarkdown(operations: ReadonlyMap<string, RegisteredOperation>): string {
  const ops = [...operations.values()].sort((a, b) => a.action.localeCompare(b.action));
  const lines = [
    '# Operations',
    '',
    '<!-- Generated by `npm run docs` from src/api and the operation table. Do not edit by hand. -->',
    '',
    'Every action the server answers (API version 2016-04-28). Parameters are read from the query string',
    'and from an `application/x-www-form-urlencoded` body. Errors: [errors.md](errors.md).',
    '',
    '| Action | Access | RAM action | Resource | Asynchronous |',
    '|---|---|---|---|---|',
    ...ops.map(
      (op) =>
        `| [${op.action}](#${op.action.toLowerCase()}) | ${op.access} | \`${op.ramAction}\` | \`${op.resourceDoc}\` | ${op.async ?? 'no'} |`,
    ),
    '',
  ];
  for (const op of ops) {
    lines.push(`## ${op.action}`, '', op.summary, '');
    lines.push(`RAM: \`${op.ramAction}\` on \`${op.resourceDoc}\` (access level ${op.access}).`, '');
    if (op.async) lines.push(`Asynchronous: ${op.async}.`, '');
    lines.push('| Parameter | Required | Type and constraints | Notes |', '|---|---|---|---|');
    for (const [name, spec] of Object.entries(op.params)) lines.push(...paramRows(name, spec));
    if (op.oneOf.length > 0) {
      const named = op.oneOf.map((n) => (op.params[n]?.type === 'string' ? `\`${n}\`` : `\`${n}.N\``));
      lines.push('', `At least one of ${named.join(' and ')} must be given.`);
    }
    lines.push(
      '',
      `Answer: \`RequestId\` string${
        Object.keys(op.response).length > 0 ? `, ${describeResponseShape(op.response)}` : ''
      }.`,
      '',
      `Errors of its own (beyond the [common ones](errors.md#every-operation)): ${
        errorsOf(op)
          .map((e) => `\`${e.code}\``)
          .join(', ') || 'none'
      }.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

function errorRow(e: ErrorDoc): string {
  return `| \`${e.code}\` | ${e.httpStatus} | ${escapeCell(e.message)} | ${escapeCell(e.when)} |`;
}

export function errorsMarkdown(operations: ReadonlyMap<string, RegisteredOperation>): string {
  const header = ['| Code | HTTP | Message | When |', '|---|---|---|---|'];
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated by `npm run docs` from the error factories and the operation table. Do not edit by hand. -->',
    '',
    'Every error answer is a non-2xx JSON body (XML when a V1 request says `Format=XML`) with `RequestId`,',
    '`HostId`, `Code`, `Message` and `Recommend`; `Forbidden.RAM` adds `AccessDeniedDetail`. Where a message has',
    'a placeholder, the answer fills it in: `{Name}` with the parameter or value, `{Quota}` with the quota in force',
    '(`serve --limits`). Which codes are assumptions rather than documented facts is recorded in',
    '[fidelity.md](fidelity.md).',
    '',
    '## Every operation',
    '',
    'The request pipeline can answer any operation with these, in this order of checks: method,',
    'parameters readable, path, a signature scheme present, version, action, credentials and signature, clock,',
    'nonce, parameter validation (every missing required parameter before any malformed one), RAM',
    'authorization, ClientToken, then the operation itself.',
    '',
    ...header,
    ...PIPELINE_ERRORS.map((f) => errorRow(f.doc)),
    '',
    '## Per operation',
    '',
  ];
  for (const op of [...operations.values()].sort((a, b) => a.action.localeCompare(b.action))) {
    const own = errorsOf(op);
    lines.push(`### ${op.action}`, '');
    if (own.length === 0) lines.push('Only the common codes.', '');
    else lines.push(...header, ...own.map(errorRow), '');
  }
  const documented = new Set([
    ...PIPELINE_ERRORS.map((f) => f.doc.code),
    ...[...operations.values()].flatMap((op) => errorsOf(op).map((e) => e.code)),
  ]);
  const rest = [...errorDocs().values()]
    .filter((e) => !documented.has(e.code))
    .sort((a, b) => a.code.localeCompare(b.code));
  if (rest.length > 0) lines.push('## Other codes', '', ...header, ...rest.map(errorRow), '');
  return `${lines.join('\n')}\n`;
}
