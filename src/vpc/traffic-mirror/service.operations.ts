/**
 * OpenTrafficMirrorService and GetTrafficMirrorServiceStatus (spec sessions.md section 9): the
 * activation of traffic mirroring, kept per account and region. The session operations do not
 * depend on it (spec 14.3). RegionId is optional on both; an omitted one means the server's first
 * configured region, the region of the default endpoint (docs/fidelity.md).
 */
import { CLIENT_TOKEN_SPEC, defineOperation, type OperationContext } from '../../api/operation.js';
import { serviceErrors } from './errors.js';
import { openTrafficMirrorService, trafficMirrorServiceEnabled } from './sessions.service.js';

const OPTIONAL_REGION = {
  type: 'string',
  region: true,
  doc: 'Region to activate or ask about; the server default region when omitted.',
} as const;

function regionOf(ctx: OperationContext, regionId: string | undefined): string {
  return regionId ?? ctx.services.regions[0] ?? 'cn-hangzhou';
}

export const serviceOperations = [
  defineOperation({
    action: 'OpenTrafficMirrorService',
    summary: 'Activates traffic mirroring for the account in a region.',
    access: 'create',
    clientToken: true,
    params: { RegionId: OPTIONAL_REGION },
    resource: '*',
    errors: [serviceErrors.alreadyOpen],
    response: { Code: 'string', Message: 'string' },
    handler: async (ctx, input) => {
      await openTrafficMirrorService(ctx, regionOf(ctx, input.RegionId));
      // Code is the string "200": every official client reads that as success.
      return { Code: '200', Message: 'successful' };
    },
  }),
  defineOperation({
    action: 'GetTrafficMirrorServiceStatus',
    summary: 'Tells whether traffic mirroring is activated for the account in a region.',
    access: 'read',
    // Terraform sends a fresh ClientToken; a read has nothing to make idempotent, so it is ignored.
    params: {
      RegionId: OPTIONAL_REGION,
      ClientToken: { ...CLIENT_TOKEN_SPEC, doc: 'Accepted and ignored: a read has nothing to repeat.' },
    },
    resource: '*',
    errors: [],
    response: { Enabled: 'boolean' },
    handler: async (ctx, input) => ({
      Enabled: await trafficMirrorServiceEnabled(ctx, regionOf(ctx, input.RegionId)),
    }),
  }),
];
