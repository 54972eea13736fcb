/**
 * Error factories that carry their own documentation. Each wire code is defined exactly once with
 * its HTTP status, message and when it is returned; docs/errors.md is generated from the registry.
 */
import { ApiError } from './api-error.js';

export interface ErrorDoc {
  readonly code: string;
  readonly httpStatus: number;
  /** The message with placeholders filled by the sample arguments. */
  readonly message: string;
  readonly when: string;
}

export type ErrorFactory<A extends unknown[]> = ((...args: A) => ApiError) & { readonly doc: ErrorDoc };

const registry = new Map<string, ErrorDoc>();

export function defineError<A extends unknown[]>(def: {
  code: string;
  httpStatus: number;
  message: (...args: A) => string;
  when: string;
  sample: A;
  extra?: (...args: A) => Record<string, unknown>;
  /** For code families such as Missing{Name}: the concrete code of one error. */
  codeOf?: (...args: A) => string;
}): ErrorFactory<A> {
  const doc: ErrorDoc = {
    code: def.code,
    httpStatus: def.httpStatus,
    message: def.message(...def.sample),
    when: def.when,
  };
  const existing = registry.get(def.code);
  if (existing && existing.httpStatus !== doc.httpStatus) {
    throw new Error(`error code ${def.code} defined twice with different HTTP statuses`);
  }
  registry.set(def.code, existing ?? doc);
  const make = (...args: A) =>
    new ApiError(
      def.httpStatus,
      def.codeOf?.(...args) ?? def.code,
      def.message(...args),
      def.extra?.(...args),
    );
  return Object.assign(make, { doc });
}

export function errorDocs(): ReadonlyMap<string, ErrorDoc> {
  return registry;
}
