/**
 * Wire errors of the traffic mirror resources, each defined once. Codes and messages of the
 * session and filter status errors are the seed document's; the others follow the VPC families
 * the spec names (ResourceNotFound.*, IncorrectStatus.*, QuotaExceeded.*) and are listed as
 * assumptions in docs/fidelity.md. Every ResourceNotFound.* is HTTP 400, as the seed shows.
 */
import { defineError } from '../../protocol/define-error.js';

/** A quota in force (serve --limits); the docs show the placeholder. */
type Quota = number | '{Quota}';
export const sessionErrors = {
  notFound: defineError({
    code: 'ResourceNotFound.TrafficMirrorSession',
    httpStatus: 400,
    message: () => 'The specified resource of traffic mirror session is not found.',
    when: 'The session id is unknown, belongs to another account or region, or the session is already gone.',
    sample: [],
  }),
  incorrectStatus: defineError({
    code: 'IncorrectStatus.TrafficMirrorSession',
    httpStatus: 400,
    message: () => 'The status of traffic mirror session is incorrect.',
    when: 'The session is Creating, Modifying or Deleting (a change is already under way); for a change to filter rules, a session using the filter is.',
    sample: [],
  }),
  quotaSources: defineError({
    code: 'QuotaExceeded.TrafficMirrorSource',
    httpStatus: 400,
    message: (limit: Quota) =>
      `The number of traffic mirror sources in a session exceeds the quota of ${limit}.`,
    when: 'A session would have more sources than the configured limit (default 10).',
    sample: ['{Quota}'],
  }),
  quotaSessionsPerSource: defineError({
    code: 'QuotaExceeded.TrafficMirrorSession',
    httpStatus: 400,
    message: (limit: Quota) => `The number of traffic mirror sessions exceeds the quota of ${limit}.`,
    when: 'A source ENI would belong to more sessions than the configured limit (default 3), or the account has reached its session quota in the region (default 1000).',
    sample: ['{Quota}'],
  }),
  quotaSessionsPerRegion: defineError({
    code: 'QuotaExceeded.TrafficMirrorSession',
    httpStatus: 400,
    message: (limit: Quota) => `The number of traffic mirror sessions exceeds the quota of ${limit}.`,
    when: 'The account has reached its session quota in the region (default 1000).',
    sample: ['{Quota}'],
  }),
};

export const filterErrors = {
  notFound: defineError({
    code: 'ResourceNotFound.TrafficMirrorFilter',
    httpStatus: 400,
    message: () => 'The specified resource of traffic mirror filter is not found.',
    when: 'The filter id is unknown, belongs to another account or region, or the filter is already gone.',
    sample: [],
  }),
  incorrectStatus: defineError({
    code: 'IncorrectStatus.TrafficMirrorFilter',
    httpStatus: 400,
    message: () => 'The status of traffic mirror filter is incorrect.',
    when: 'The filter or one of its rules is being created, changed or deleted; or a session still uses the filter that is to be deleted.',
    sample: [],
  }),
  quota: defineError({
    code: 'QuotaExceeded.TrafficMirrorFilter',
    httpStatus: 400,
    message: (limit: Quota) => `The number of traffic mirror filters exceeds the quota of ${limit}.`,
    when: 'The account already has the configured number of filters in the region (default 100).',
    sample: ['{Quota}'],
  }),
};

export const ruleErrors = {
  notFound: defineError({
    code: 'ResourceNotFound.TrafficMirrorRule',
    httpStatus: 400,
    message: () => 'The specified resource of traffic mirror rule is not found.',
    when: 'The rule id is unknown, belongs to another account, region or filter, or the rule is already gone.',
    sample: [],
  }),
  incorrectStatus: defineError({
    code: 'IncorrectStatus.TrafficMirrorRule',
    httpStatus: 400,
    message: () => 'The status of traffic mirror rule is incorrect.',
    when: 'The rule is being created, changed or deleted.',
    sample: [],
  }),
  quota: defineError({
    code: 'QuotaExceeded.TrafficMirrorRule',
    httpStatus: 400,
    message: (limit: number) =>
      `The number of traffic mirror rules in one direction exceeds the quota of ${limit}.`,
    when: 'A direction of a filter would hold more than 10 rules, or a request names `IngressRules.N` or `EgressRules.N` with N above 10.',
    sample: [10],
  }),
};

export const tagErrors = {
  invalidKey: defineError({
    code: 'InvalidTagKey',
    httpStatus: 400,
    message: () => 'The tag keys are not valid.',
    when: 'A tag key is longer than 128 characters, starts with "aliyun" or "acs:" (in any case), or contains "http://" or "https://". An empty key counts as missing: MissingParameter naming it.',
    sample: [],
  }),
  invalidValue: defineError({
    code: 'InvalidTagValue',
    httpStatus: 400,
    message: () => 'The tag values are not valid.',
    when: 'A tag value is longer than 128 characters, starts with "aliyun" or "acs:", or contains "http://" or "https://".',
    sample: [],
  }),
  tooManyInRequest: defineError({
    code: 'SizeLimitExceeded.TagNum',
    httpStatus: 400,
    message: () => 'The maximum number of tags is exceeded.',
    when: 'More than 20 tags (Tag.N, Tags.N, TagKey.N) in one request, or an N above 20.',
    sample: [],
  }),
  quota: defineError({
    code: 'QuotaExceeded.TagNum',
    httpStatus: 400,
    message: () => 'Custom Tags quota exceeded',
    when: 'A resource would carry more than 20 tags.',
    sample: [],
  }),
  tooManyResources: defineError({
    code: 'SizeLimitExceeded.ResourceId',
    httpStatus: 400,
    message: () => 'The maximum number of resource IDs is exceeded.',
    when: 'More than 50 ResourceId.N in one tag request, or an N above 50.',
    sample: [],
  }),
  duplicateKey: defineError({
    code: 'Forbidden.TagKey.Duplicated',
    httpStatus: 400,
    message: () => 'The specified tag key already exists.',
    when: 'The same tag key appears twice in one request.',
    sample: [],
  }),
};

export const resourceGroupErrors = {
  invalid: defineError({
    code: 'InvalidResourceGroupId',
    httpStatus: 400,
    message: () => 'The specified ResourceGroupId does not exist.',
    when: 'ResourceGroupId / NewResourceGroupId is not a resource group id (rg-…).',
    sample: [],
  }),
  resourceNotFound: defineError({
    code: 'InvalidResourceId.NotFound',
    httpStatus: 400,
    message: () => 'The specified ResourceId does not exist.',
    when: "MoveResourceGroup names no session or filter of its ResourceType in the caller's account and region.",
    sample: [],
  }),
  resourceType: defineError({
    code: 'IllegalParam.ResourceType',
    httpStatus: 400,
    message: () => 'Invalid Resource Type value.',
    when: 'MoveResourceGroup with a ResourceType other than TrafficMirrorSession or TrafficMirrorFilter (any case).',
    sample: [],
  }),
};

export const listErrors = {
  nextToken: defineError({
    code: 'IllegalParam.NextToken',
    httpStatus: 400,
    message: () => 'The specified NextToken is invalid.',
    when: 'NextToken is not one this server issued to this account for this List operation (altered, made up, of another account, or of the other List operation). A token of the same operation given with other filters is taken as a position in this list.',
    sample: [],
  }),
};

export const serviceErrors = {
  alreadyOpen: defineError({
    code: 'ORDER.OPEND',
    httpStatus: 400,
    message: () => 'The traffic mirror service has already been activated in this region.',
    when: 'OpenTrafficMirrorService in a region where the account already activated it (Terraform treats this code as success).',
    sample: [],
  }),
};
