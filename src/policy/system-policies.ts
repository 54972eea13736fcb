/**
 * Built-in RAM system policies for VPC (protocol.md §11.2 policy language), keyed by the
 * policy name a principal is configured with.
 */

import { type PolicyDocument, parsePolicyDocument } from './document.js';

export const SYSTEM_POLICIES: ReadonlyMap<string, PolicyDocument> = new Map([
  [
    'AliyunVPCFullAccess',
    parsePolicyDocument({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'vpc:*', Resource: '*' }],
    }),
  ],
  [
    'AliyunVPCReadOnlyAccess',
    parsePolicyDocument({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['vpc:Describe*', 'vpc:List*', 'vpc:Get*'], Resource: '*' }],
    }),
  ],
]);
