/**
 * The common codes of the Alibaba Cloud RPC gateway (spec protocol.md section 9), each defined
 * once. Resource-specific codes live next to their resource.
 */
import { defineError } from './define-error.js';

export const SIGNATURE_MISMATCH_PREFIX =
  'Specified signature is not matched with our calculation. server string to sign is:';

export const protocolErrors = {
  missingParameterShort: defineError({
    code: 'Missing{Name}',
    httpStatus: 400,
    message: (name: string) => `${name} is mandatory for this action.`,
    when: 'A required scalar parameter is absent or empty; the code names it, e.g. MissingRegionId, or MissingTimestamp for a V1 request signed without Timestamp.',
    sample: ['{Name}'],
    codeOf: (name: string) => `Missing${name}`,
  }),
  missingParameter: defineError({
    code: 'MissingParameter',
    httpStatus: 400,
    message: (name: string) =>
      `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
    when: 'A required list, or a required field of a list item (e.g. IngressRules.1.Action, or an empty Tag.1.Key), is absent; or a request gives neither of two alternatives (ListTagResources: ResourceId.N or Tag.N).',
    sample: ['{Name}'],
  }),
  missingAccessKeyId: defineError({
    code: 'MissingAccessKeyId',
    httpStatus: 400,
    message: () => 'AccessKeyId is mandatory for this action.',
    when: 'The request carries no credentials: no V3 Authorization header and no V1 AccessKeyId.',
    sample: [],
  }),
  invalidParameter: defineError({
    code: 'InvalidParameter',
    httpStatus: 400,
    message: (name: string) => `The specified parameter "${name}" is not valid.`,
    when: 'A parameter has the wrong type, range, length, pattern or enum value; the same key is sent twice with different values; the query or body is not decodable; too many parameters (over 2,000), a parameter name over 256 characters or a value over 64 KiB.',
    sample: ['{Name}'],
  }),
  requestMalformed: defineError({
    code: 'InvalidParameter',
    httpStatus: 400,
    message: (what: string) => `The ${what}.`,
    when: 'The request itself cannot be read (see the message): broken percent-encoding, bytes that are not UTF-8, a body over the size limit, too many parameters.',
    sample: ['request body exceeds 1048576 bytes'],
  }),
  accessKeyNotFound: defineError({
    code: 'InvalidAccessKeyId.NotFound',
    httpStatus: 404,
    message: () => 'Specified access key is not found.',
    when: 'The AccessKeyId is unknown.',
    sample: [],
  }),
  accessKeyInactive: defineError({
    code: 'InvalidAccessKeyId.Inactive',
    httpStatus: 400,
    message: () => 'Specified access key is disabled.',
    when: 'The AccessKey exists but is Inactive.',
    sample: [],
  }),
  signatureDoesNotMatch: defineError({
    code: 'SignatureDoesNotMatch',
    httpStatus: 400,
    message: (stringToSign: string) => `${SIGNATURE_MISMATCH_PREFIX}${stringToSign}`,
    when: 'The V1 or V3 signature differs from the one the server computes, or x-acs-content-sha256 does not match the body. The message ends with the server string to sign.',
    sample: ['{StringToSign}'],
  }),
  incompleteSignature: defineError({
    code: 'IncompleteSignature',
    httpStatus: 400,
    message: () => 'The request signature does not conform to Aliyun standards.',
    when: 'Malformed or unsupported Authorization header, a mandatory header left unsigned, an empty or UNSIGNED-PAYLOAD content hash, a SignatureMethod/SignatureVersion other than HMAC-SHA1/1.0, missing Signature or nonce; on V3, a signed header or one the server reads (Authorization, Content-Type, x-acs-*) sent more than once, or a form body whose Content-Type is not signed.',
    sample: [],
  }),
  nonceUsed: defineError({
    code: 'SignatureNonceUsed',
    httpStatus: 400,
    message: () => 'Specified signature nonce was used already.',
    when: 'The same AccessKey sent the same nonce within the replay window (15 minutes by default), on any node.',
    sample: [],
  }),
  timestampExpired: defineError({
    code: 'InvalidTimeStamp.Expired',
    httpStatus: 400,
    message: () => 'Specified time stamp or date value is expired.',
    when: 'Timestamp / x-acs-date is more than 15 minutes (`--max-skew`) away from the server clock.',
    sample: [],
  }),
  timestampFormat: defineError({
    code: 'InvalidTimeStamp.Format',
    httpStatus: 400,
    message: () => 'Specified time stamp or date value is not well formatted.',
    when: 'Timestamp / x-acs-date is not YYYY-MM-DDThh:mm:ss[.fff]Z, or x-acs-date is missing (a V1 request without Timestamp is MissingTimestamp).',
    sample: [],
  }),
  missingSecurityToken: defineError({
    code: 'MissingSecurityToken',
    httpStatus: 400,
    message: () => 'SecurityToken is mandatory for this action.',
    when: 'Temporary credentials were used without their security token.',
    sample: [],
  }),
  securityTokenExpired: defineError({
    code: 'InvalidSecurityToken.Expired',
    httpStatus: 400,
    message: () => 'Specified SecurityToken is expired.',
    when: 'The temporary credentials have expired.',
    sample: [],
  }),
  securityTokenMalformed: defineError({
    code: 'InvalidSecurityToken.Malformed',
    httpStatus: 400,
    message: () => 'Specified SecurityToken is malformed.',
    when: 'A security token was sent with a long-term AccessKey, or the token is not one this server issued.',
    sample: [],
  }),
  securityTokenMismatch: defineError({
    code: 'InvalidSecurityToken.MismatchWithAccessKey',
    httpStatus: 400,
    message: () => 'Specified SecurityToken is mismatch with the AccessKey.',
    when: 'The security token belongs to other temporary credentials.',
    sample: [],
  }),
  forbiddenRam: defineError({
    code: 'Forbidden.RAM',
    httpStatus: 403,
    message: (_detail: Record<string, unknown>) =>
      "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
    when: 'RAM policy evaluation denied the call (explicitly or implicitly); the body carries AccessDeniedDetail. DryRun calls are authorized the same way.',
    sample: [{}],
    extra: (detail: Record<string, unknown>) => ({ AccessDeniedDetail: detail }),
  }),
  unsupportedHttpMethod: defineError({
    code: 'UnsupportedHTTPMethod',
    httpStatus: 403,
    message: () => 'This http method not supported.',
    when: 'The HTTP method is neither GET nor POST.',
    sample: [],
  }),
  actionNotFound: defineError({
    code: 'InvalidAction.NotFound',
    httpStatus: 404,
    message: () => 'Specified api is not found, please check your url and method.',
    when: 'The action is missing or unknown, or the path is not `/`.',
    sample: [],
  }),
  invalidVersion: defineError({
    code: 'InvalidVersion',
    httpStatus: 400,
    message: () => 'Specified parameter Version is not valid.',
    when: 'The version is missing or not 2016-04-28.',
    sample: [],
  }),
  regionNotFound: defineError({
    code: 'InvalidRegionId.NotFound',
    httpStatus: 404,
    message: () => 'The specified RegionId does not exist in our records.',
    when: 'RegionId is not one of the configured regions.',
    sample: [],
  }),
  dryRunOperation: defineError({
    code: 'DryRunOperation',
    httpStatus: 400,
    message: () => 'Request validation has been passed with DryRun flag set.',
    when: 'DryRun=true and every check (parameters, authorization, existence, status, quota) passed; nothing changed.',
    sample: [],
  }),
  idempotentParameterMismatch: defineError({
    code: 'IdempotentParameterMismatch',
    httpStatus: 400,
    message: () => 'Request uses a client token in a previous request but is not identical to that request.',
    when: 'A ClientToken already used for this action, account and region arrives with different parameters.',
    sample: [],
  }),
  lastTokenProcessing: defineError({
    code: 'OperationFailed.LastTokenProcessing',
    httpStatus: 400,
    message: () => 'The last token request is processing.',
    when: 'A ClientToken arrives again while the first request with it is still executing.',
    sample: [],
  }),
  operationConflict: defineError({
    code: 'OperationConflict',
    httpStatus: 400,
    message: () => 'Request was denied due to conflict with a previous request.',
    when: 'A concurrent write on the same resource won a race (e.g. the same priority taken at the same moment on another node), or a filter rule still being deleted holds the priority or the place a rule change asks for.',
    sample: [],
  }),
  internalError: defineError({
    code: 'InternalError',
    httpStatus: 500,
    message: () => 'The request processing has failed due to some unknown error, exception or failure.',
    when: 'An unexpected failure; it is logged with the RequestId and no detail reaches the wire.',
    sample: [],
  }),
  serviceUnavailable: defineError({
    code: 'ServiceUnavailable',
    httpStatus: 503,
    message: () => 'The request has failed due to a temporary failure of the server.',
    when: 'The store failed in a way a retry may not meet: PostgreSQL refused or cut the connection (down, restarting, failing over, too many connections) or a row stayed locked past the lock timeout (20 seconds, shorter under a --pg-statement-deadline below 30 seconds), or another process kept the SQLite file locked past the 5-second wait, or the SQLite file or its nonce journal could not grow (disk full), or the server had no file descriptor left for a file or connection of the store (a new slice of the nonce journal, a new PostgreSQL connection). Logged with the RequestId; clients retry it. A connection cut during the commit may have committed: send a ClientToken, and the retry replays the first answer.',
    sample: [],
  }),
};
