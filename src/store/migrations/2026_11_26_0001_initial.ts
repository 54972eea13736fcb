/**
 * The first schema: credentials, replay protection, idempotency tokens, traffic mirror resources,
 * tags and the durable transition queue. `seq` columns give every resource a creation order that
 * list pagination can key on.
 */
import type { CreateTableBuilder, Kysely } from 'kysely';
import type { Dialect } from '../dialect.js';

export function initial(dialect: Dialect) {
  function seq<TB extends string, C extends string>(b: CreateTableBuilder<TB, C>) {
    return dialect === 'postgres'
      ? b.addColumn('seq', 'bigserial', (c) => c.primaryKey())
      : b.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
  }

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('default_resource_group_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ram_users')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('ram_users_pk', ['account_id', 'user_name'])
        .execute();
      await db.schema
        .createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text')
        .addColumn('role_name', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('security_token', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('session_policy', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('policies')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('policy_name', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('policies_pk', ['account_id', 'policy_name'])
        .execute();
      await db.schema
        .createTable('policy_attachments')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('principal_type', 'text', (c) => c.notNull())
        .addColumn('principal_name', 'text', (c) => c.notNull())
        .addColumn('policy_type', 'text', (c) => c.notNull())
        .addColumn('policy_name', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('policy_attachments_pk', [
          'account_id',
          'principal_type',
          'principal_name',
          'policy_type',
          'policy_name',
        ])
        .execute();
      await db.schema
        .createTable('nonces')
        .addColumn('access_key_id', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('nonces_pk', ['access_key_id', 'nonce'])
        .execute();
      await db.schema.createIndex('nonces_expiry').on('nonces').column('expires_at').execute();
      await db.schema
        .createTable('client_tokens')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('client_token', 'text', (c) => c.notNull())
        .addColumn('params_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response', 'text')
        .addColumn('lease_until', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('client_tokens_pk', ['account_id', 'region_id', 'action', 'client_token'])
        .execute();
      await db.schema.createIndex('client_tokens_expiry').on('client_tokens').column('expires_at').execute();

      await db.schema
        .createTable('traffic_mirror_filters')
        .$call(seq)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('resource_group_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('traffic_mirror_filters_owner')
        .on('traffic_mirror_filters')
        .columns(['account_id', 'region_id', 'seq'])
        .execute();
      await db.schema
        .createTable('traffic_mirror_filter_rules')
        .$call(seq)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('filter_id', 'text', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('rule_action', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('source_cidr_block', 'text', (c) => c.notNull())
        .addColumn('destination_cidr_block', 'text', (c) => c.notNull())
        .addColumn('source_port_range', 'text', (c) => c.notNull())
        .addColumn('destination_port_range', 'text', (c) => c.notNull())
        .addColumn('ip_version', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // Rule priority is unique per filter and direction; the index makes it hold across nodes.
      await db.schema
        .createIndex('traffic_mirror_filter_rules_priority')
        .on('traffic_mirror_filter_rules')
        .columns(['filter_id', 'direction', 'priority'])
        .unique()
        .execute();

      await db.schema
        .createTable('traffic_mirror_sessions')
        .$call(seq)
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('filter_id', 'text', (c) => c.notNull())
        .addColumn('virtual_network_id', 'integer', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('packet_length', 'integer', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('business_status', 'text', (c) => c.notNull())
        .addColumn('resource_group_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('traffic_mirror_sessions_owner')
        .on('traffic_mirror_sessions')
        .columns(['account_id', 'region_id', 'seq'])
        .execute();
      // Priority is unique per account and region (spec sessions.md section 2); enforced by the
      // database so that two nodes cannot both take one priority.
      await db.schema
        .createIndex('traffic_mirror_sessions_priority')
        .on('traffic_mirror_sessions')
        .columns(['account_id', 'region_id', 'priority'])
        .unique()
        .execute();
      await db.schema
        .createIndex('traffic_mirror_sessions_filter')
        .on('traffic_mirror_sessions')
        .column('filter_id')
        .execute();
      await db.schema
        .createTable('traffic_mirror_session_sources')
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('traffic_mirror_session_sources_pk', ['session_id', 'source_id'])
        .execute();
      await db.schema
        .createIndex('traffic_mirror_session_sources_source')
        .on('traffic_mirror_session_sources')
        .column('source_id')
        .execute();

      await db.schema
        .createTable('tags')
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('tag_value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tags_pk', ['resource_id', 'tag_key'])
        .execute();
      await db.schema.createIndex('tags_key_value').on('tags').columns(['tag_key', 'tag_value']).execute();

      await db.schema
        .createTable('transitions')
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('due_at', 'bigint')
        .addPrimaryKeyConstraint('transitions_pk', ['resource_type', 'resource_id'])
        .execute();
      await db.schema.createIndex('transitions_due').on('transitions').column('due_at').execute();

      await db.schema
        .createTable('service_status')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('region_id', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('service_status_pk', ['account_id', 'region_id'])
        .execute();
    },
  };
}
