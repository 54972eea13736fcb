/**
 * Who is calling: resolved from the AccessKey by the authentication step and used by RAM
 * authorization and by every service to scope resources to one account.
 */
export type PrincipalType = 'Account' | 'SubUser' | 'AssumedRoleUser';

export interface Principal {
  readonly accountId: string;
  readonly type: PrincipalType;
  /** Account name, RAM user name, or role name for temporary credentials. */
  readonly name: string;
  readonly accessKeyId: string;
  /** RAM user name whose policies apply (SubUser), or null. */
  readonly userName: string | null;
  /** Role name of temporary credentials, or null. */
  readonly roleName: string | null;
  /** Session policy of temporary credentials (JSON), or null. */
  readonly sessionPolicy: string | null;
}
