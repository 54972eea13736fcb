/**
 * RAM authorization (spec protocol.md section 11): an account's own keys may do anything in the
 * account; RAM users and temporary credentials only what their attached policies allow, where an
 * explicit Deny wins. Policies come from the request's credential view, checked against the RAM
 * generation read after the request's key lookup (authenticate.ts), so a change made through any
 * node applies on every node from the next request on.
 */
import { type PolicyDocument, parsePolicyDocument } from '../policy/document.js';
import { evaluatePolicies } from '../policy/evaluate.js';
import { SYSTEM_POLICIES } from '../policy/system-policies.js';
import { protocolErrors } from '../protocol/errors.js';
import type { Executor } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import type { CredentialView } from './credential-cache.js';
import type { Principal } from './principal.js';

export interface AuthorizationInput {
  readonly principal: Principal;
  readonly action: string;
  readonly resources: readonly string[];
  readonly sourceIp: string;
  readonly secureTransport: boolean;
  readonly now: number;
  /** The tags the request attaches (`Tag.N`), in request order: `acs:RequestTag/<key>`. */
  readonly requestTags: readonly (readonly [key: string, value: string])[];
}

const parsedCache = new Map<string, PolicyDocument>();

/** Policy texts are immutable once stored under a version, so parsing is cached by text. */
function parseCached(text: string): PolicyDocument {
  let doc = parsedCache.get(text);
  if (!doc) {
    doc = parsePolicyDocument(text);
    if (parsedCache.size > 1000) parsedCache.clear();
    parsedCache.set(text, doc);
  }
  return doc;
}

const attached = (db: Executor, accountId: string) =>
  db
    .selectFrom('policy_attachments as a')
    .leftJoin('policies as p', (j) =>
      j.onRef('p.account_id', '=', 'a.account_id').onRef('p.policy_name', '=', 'a.policy_name'),
    )
    .select(['a.policy_type', 'a.policy_name', 'p.document'])
    .where('a.account_id', '=', accountId);

/** A role's policies: temporary credentials act as their role alone. */
const rolePolicies = prepared((db, p: { accountId: string; roleName: string }) =>
  attached(db, p.accountId).where('a.principal_type', '=', 'Role').where('a.principal_name', '=', p.roleName),
);

/** A RAM user's policies: its own and those of every group it belongs to. */
const userPolicies = prepared((db, p: { accountId: string; userName: string }) =>
  attached(db, p.accountId).where((eb) =>
    eb.or([
      eb.and([eb('a.principal_type', '=', 'User'), eb('a.principal_name', '=', p.userName)]),
      eb.and([
        eb('a.principal_type', '=', 'Group'),
        eb(
          'a.principal_name',
          'in',
          eb
            .selectFrom('ram_group_members as m')
            .select('m.group_name')
            .where('m.account_id', '=', p.accountId)
            .where('m.user_name', '=', p.userName),
        ),
      ]),
    ]),
  ),
);

export async function loadPolicies(db: Executor, principal: Principal): Promise<PolicyDocument[]> {
  const { accountId, userName, roleName } = principal;
  const rows =
    principal.type === 'SubUser' && userName !== null
      ? await userPolicies.all(db, { accountId, userName })
      : principal.type !== 'SubUser' && roleName !== null
        ? await rolePolicies.all(db, { accountId, roleName })
        : [];
  const docs: PolicyDocument[] = [];
  for (const r of rows) {
    if (r.policy_type === 'System') {
      const doc = SYSTEM_POLICIES.get(r.policy_name);
      if (doc) docs.push(doc);
    } else if (r.document !== null) {
      docs.push(parseCached(r.document));
    }
  }
  return docs;
}

interface NamedResource {
  readonly region: string;
  readonly account: string;
  readonly type: string;
  readonly id: string;
}

/** The parts of `acs:vpc:{region}:{account}:{type}/{id}`; undefined for a wildcard or another form. */
function namedResource(arn: string): NamedResource | undefined {
  const parts = arn.split(':');
  if (parts.length !== 5 || parts[0] !== 'acs') return undefined;
  const [, , region = '', account = '', relative = ''] = parts;
  const slash = relative.indexOf('/');
  const id = relative.slice(slash + 1);
  if (slash < 0 || id === '' || id.includes('*')) return undefined;
  return { region, account, type: relative.slice(0, slash), id };
}

/**
 * The tags of each resource the request names, as `acs:resourcetag/<key>` condition values of that
 * resource alone. Only the caller's own resources count, and only where the name's region and type
 * are the resource's: a name of another account's resource (or of a resource in another region)
 * has no tags, or a policy's answer would tell the caller what another account tagged.
 */
async function resourceTags(
  db: Executor,
  accountId: string,
  resources: readonly string[],
): Promise<Map<string, Map<string, string[]>>> {
  const named = new Map<string, NamedResource>();
  for (const arn of resources) {
    const r = namedResource(arn);
    if (r?.account === accountId) named.set(arn, r);
  }
  const out = new Map<string, Map<string, string[]>>();
  if (named.size === 0) return out;
  const rows = await db
    .selectFrom('tags')
    .select(['resource_type', 'resource_id', 'region_id', 'tag_key', 'tag_value'])
    .where('account_id', '=', accountId)
    .where(
      'resource_id',
      'in',
      [...named.values()].map((r) => r.id),
    )
    .execute();
  for (const [arn, n] of named) {
    const tags = new Map<string, string[]>();
    for (const r of rows) {
      if (n.id !== r.resource_id || n.region !== r.region_id || n.type !== r.resource_type.toLowerCase())
        continue;
      const key = `acs:resourcetag/${r.tag_key}`;
      tags.set(key, [...(tags.get(key) ?? []), r.tag_value]);
    }
    out.set(arn, tags);
  }
  return out;
}

const mentionsResourceTags = (doc: PolicyDocument): boolean =>
  doc.statements.some((s) => s.conditions.some((c) => c.contextKey.startsWith('acs:resourcetag/')));

/** Which kind of policy refused: RAM's own names (those of DecodeDiagnosticMessage's NoPermissionPolicyType). */
type DenyingPolicy = 'AccountLevelIdentityBasedPolicy' | 'SessionPolicy';

function accessDeniedDetail(
  input: AuthorizationInput,
  policyType: DenyingPolicy,
  noPermissionType: string,
): Record<string, unknown> {
  const detail = {
    PolicyType: policyType,
    AuthPrincipalOwnerId: input.principal.accountId,
    AuthPrincipalType: input.principal.type,
    AuthPrincipalDisplayName: input.principal.name,
    NoPermissionType: noPermissionType,
    AuthAction: input.action,
  };
  return {
    ...detail,
    EncodedDiagnosticMessage: Buffer.from(
      JSON.stringify({ ...detail, AuthResource: input.resources }),
    ).toString('base64'),
  };
}

/** Throws Forbidden.RAM unless the principal may perform the action on every resource. */
export async function authorize(
  db: Executor,
  credentials: CredentialView,
  input: AuthorizationInput,
): Promise<void> {
  if (input.principal.type === 'Account') return;
  const policies = await credentials.policies(input.principal);
  const session =
    input.principal.sessionPolicy === null ? undefined : parseCached(input.principal.sessionPolicy);
  const context = new Map<string, string[]>([
    ['acs:sourceip', [input.sourceIp]],
    ['acs:securetransport', [String(input.secureTransport)]],
    ['acs:currenttime', [new Date(input.now).toISOString().replace(/\.\d{3}Z$/, 'Z')]],
    ['acs:accessid', [input.principal.accessKeyId]],
    // Calls are signed with AccessKeys; nothing here is ever authenticated with MFA.
    ['acs:mfapresent', ['false']],
  ]);
  // Keys that differ only by case are distinct tags but one condition key: each adds its value.
  for (const [k, v] of input.requestTags) {
    const key = `acs:requesttag/${k.toLowerCase()}`;
    context.set(key, [...(context.get(key) ?? []), v]);
  }
  const needsResourceTags =
    policies.some(mentionsResourceTags) || (session !== undefined && mentionsResourceTags(session));
  const request = {
    action: input.action,
    resources: input.resources,
    context,
    ...(needsResourceTags
      ? { resourceContext: await resourceTags(db, input.principal.accountId, input.resources) }
      : {}),
  };
  const decision = evaluatePolicies(policies, request);
  // Temporary credentials with a session policy get the intersection of both; an explicit Deny in
  // either wins over an implicit one in the other.
  const sessionDecision = session === undefined ? undefined : evaluatePolicies([session], request);
  if (decision.allowed && (sessionDecision === undefined || sessionDecision.allowed)) return;
  // The answer names the policy that refused: an explicit Deny first (the account's policies
  // before the session's), then a missing Allow (the account's before the session's).
  const explicitly = (d: typeof decision | undefined) =>
    d !== undefined && !d.allowed && d.noPermissionType === 'ExplicitDeny';
  const [policyType, noPermissionType]: [DenyingPolicy, string] = explicitly(decision)
    ? ['AccountLevelIdentityBasedPolicy', 'ExplicitDeny']
    : explicitly(sessionDecision)
      ? ['SessionPolicy', 'ExplicitDeny']
      : !decision.allowed
        ? ['AccountLevelIdentityBasedPolicy', 'ImplicitDeny']
        : ['SessionPolicy', 'ImplicitDeny'];
  throw protocolErrors.forbiddenRam(accessDeniedDetail(input, policyType, noPermissionType));
}
