/**
 * The database schema as Kysely table types. Both engines store the same columns: times are
 * milliseconds since the epoch (bigint), booleans are 0/1 integers, so the repositories never
 * branch on the dialect.
 */
import type { Generated, Kysely, Transaction } from 'kysely';

export interface AccountsTable {
  id: string;
  name: string;
  default_resource_group_id: string;
  created_at: number;
}

export interface RamUsersTable {
  account_id: string;
  user_name: string;
  user_id: string;
  display_name: string;
  created_at: number;
}

export interface RamGroupsTable {
  account_id: string;
  group_name: string;
  comments: string;
  created_at: number;
}

export interface RamGroupMembersTable {
  account_id: string;
  group_name: string;
  user_name: string;
  created_at: number;
}

export interface AccessKeysTable {
  access_key_id: string;
  secret: string;
  account_id: string;
  /** null for the account's own (root) keys. */
  user_name: string | null;
  /** Set for temporary credentials: the role or session name the credentials act as. */
  role_name: string | null;
  status: string;
  security_token: string | null;
  expires_at: number | null;
  /** Optional session policy of temporary credentials (JSON document). */
  session_policy: string | null;
  created_at: number;
}

export interface PoliciesTable {
  account_id: string;
  policy_name: string;
  document: string;
  description: string;
  created_at: number;
}

export interface PolicyAttachmentsTable {
  account_id: string;
  principal_type: string;
  principal_name: string;
  policy_type: string;
  policy_name: string;
}

/** PostgreSQL only: used nonces, keyed by (AccessKey, nonce). */
export interface NoncesTable {
  access_key_id: string;
  nonce: string;
  expires_at: number;
}

/** SQLite only: used nonces in expiry order (nonce-log.ts). */
export interface NonceLogTable {
  expires_at: number;
  access_key_id: string;
  nonce: string;
}

export interface ClientTokensTable {
  account_id: string;
  region_id: string;
  action: string;
  client_token: string;
  params_hash: string;
  state: string;
  response: string | null;
  lease_until: number;
  expires_at: number;
  /** The node running the first request (null once done, or for rows of older versions). */
  owner: string | null;
}

export interface TrafficMirrorFiltersTable {
  seq: Generated<number>;
  id: string;
  account_id: string;
  region_id: string;
  name: string;
  description: string;
  resource_group_id: string;
  status: string;
  created_at: number;
}

export interface TrafficMirrorFilterRulesTable {
  seq: Generated<number>;
  id: string;
  filter_id: string;
  direction: string;
  rule_action: string;
  protocol: string;
  priority: number;
  source_cidr_block: string;
  destination_cidr_block: string;
  source_port_range: string;
  destination_port_range: string;
  ip_version: string;
  status: string;
  created_at: number;
}

export interface TrafficMirrorSessionsTable {
  seq: Generated<number>;
  id: string;
  account_id: string;
  region_id: string;
  name: string;
  description: string;
  target_id: string;
  target_type: string;
  filter_id: string;
  virtual_network_id: number;
  priority: number;
  packet_length: number;
  enabled: number;
  status: string;
  business_status: string;
  resource_group_id: string;
  created_at: number;
}

export interface TrafficMirrorSessionSourcesTable {
  session_id: string;
  source_id: string;
  position: number;
}

export interface TagsTable {
  resource_type: string;
  resource_id: string;
  account_id: string;
  region_id: string;
  tag_key: string;
  tag_value: string;
}

export interface TransitionsTable {
  resource_type: string;
  resource_id: string;
  /** What completes: 'ready' (Creating/Modifying -> Created) or 'delete' (Deleting -> gone). */
  kind: string;
  /** null while the transition waits for an explicit advance (manual mode). */
  due_at: number | null;
  /** The timed action that scheduled it (create/update/delete); null on rows of older versions. */
  action: string | null;
}

export interface ServiceStatusTable {
  account_id: string;
  region_id: string;
  enabled: number;
}

/** Counters that triggers move forward on every change to a group of tables (migration 0003). */
export interface ChangeCountersTable {
  name: string;
  value: number;
}

/** Sessions per account and region, kept by triggers (migration 0004). */
export interface SessionCountsTable {
  account_id: string;
  region_id: string;
  n: number;
}

/** Secrets of the deployment, one row each (migration 0006). */
export interface ServerSecretsTable {
  name: string;
  value: string;
}

export interface Database {
  accounts: AccountsTable;
  ram_users: RamUsersTable;
  ram_groups: RamGroupsTable;
  ram_group_members: RamGroupMembersTable;
  access_keys: AccessKeysTable;
  policies: PoliciesTable;
  policy_attachments: PolicyAttachmentsTable;
  nonces: NoncesTable;
  nonce_log: NonceLogTable;
  client_tokens: ClientTokensTable;
  traffic_mirror_filters: TrafficMirrorFiltersTable;
  traffic_mirror_filter_rules: TrafficMirrorFilterRulesTable;
  traffic_mirror_sessions: TrafficMirrorSessionsTable;
  traffic_mirror_session_sources: TrafficMirrorSessionSourcesTable;
  tags: TagsTable;
  transitions: TransitionsTable;
  service_status: ServiceStatusTable;
  change_counters: ChangeCountersTable;
  session_counts: SessionCountsTable;
  server_secrets: ServerSecretsTable;
}

export type Db = Kysely<Database>;
/** A connection or an open transaction: repository functions accept either. */
export type Executor = Kysely<Database> | Transaction<Database>;

/**
 * A new transaction at READ COMMITTED, whatever the database, the role or the connection URL sets
 * as default: the writers' locking (a counter row locked, then what it counts read again) is made
 * for it, and under REPEATABLE READ or SERIALIZABLE concurrent writers in one account would end in
 * serialization failures. SQLite has no levels and ignores it.
 */
export function newTransaction(db: Executor) {
  return db.transaction().setIsolationLevel('read committed');
}
