/**
 * What the session tests share: making filters and sessions and reading them back, always through
 * the official clients (callVia), so every step is a real wire call.
 */
import assert from 'node:assert/strict';
import { rootKey } from '../../src/accounts/bootstrap.js';
import { createApp } from '../../src/app.js';
import type { ResourceLimits } from '../../src/config.js';
import { newAccessKeyId, newAccessKeySecret, newAccountId, newResourceId } from '../../src/ids.js';
import { createLogger } from '../../src/logger.js';
import { listen } from '../../src/server.js';
import { insertAccessKey, insertAccount } from '../../src/store/credentials.repo.js';
import { type ClientMode, type Credentials, callVia } from '../helpers/clients.js';
import type { TestServer } from '../helpers/server.js';

export const REGION = 'cn-hangzhou';

export type Session = Record<string, unknown> & {
  TrafficMirrorSessionId: string;
  TrafficMirrorSessionStatus: string;
  TrafficMirrorSourceIds: string[];
  Tags: Array<{ Key: string; Value: string }>;
};

let counter = 0;
/** A fresh ENI id per call, so sessions never trip the per-source limit by accident. */
export function eni(): string {
  counter += 1;
  return `eni-src${process.pid}x${counter}`;
}

/** Creates a filter and, unless told otherwise, brings it to Created. */
export async function makeFilter(
  server: TestServer,
  opts: CallOptions & { ready?: boolean } = {},
): Promise<string> {
  const body = await callVia(opts.mode ?? 'vpc-v3', opts.creds ?? server, 'CreateTrafficMirrorFilter', {
    RegionId: opts.regionId ?? REGION,
    TrafficMirrorFilterName: 'f',
  });
  const id = String(body.TrafficMirrorFilterId);
  assert.match(id, /^tmf-/);
  if (opts.ready !== false) await server.advance({ resourceId: id });
  return id;
}

let nextPriority = 1;
/** A priority no other session of the test file has used. */
export function priority(): number {
  nextPriority += 1;
  return nextPriority;
}

export function sessionParams(
  filterId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    RegionId: REGION,
    TrafficMirrorSourceIds: [eni()],
    TrafficMirrorTargetId: 'eni-target1',
    TrafficMirrorTargetType: 'NetworkInterface',
    TrafficMirrorFilterId: filterId,
    Priority: priority(),
    ...extra,
  };
}

export interface CallOptions {
  readonly mode?: ClientMode;
  readonly creds?: Credentials;
  readonly regionId?: string;
}

/** Creates a session and, unless told otherwise, brings it to Created. */
export async function makeSession(
  server: TestServer,
  filterId: string,
  extra: Record<string, unknown> = {},
  opts: CallOptions & { ready?: boolean } = {},
): Promise<string> {
  const from = Date.now();
  const body = await callVia(
    opts.mode ?? 'vpc-v3',
    opts.creds ?? server,
    'CreateTrafficMirrorSession',
    sessionParams(filterId, { ...(opts.regionId ? { RegionId: opts.regionId } : {}), ...extra }),
  );
  const id = String(body.TrafficMirrorSessionId);
  assert.match(id, /^tms-[a-z0-9]{21}$/);
  // The id begins with the request's time (src/ids.ts): 8 base-36 digits of ms since 2000.
  const created = Date.UTC(2000, 0, 1) + Number.parseInt(id.slice(4, 12), 36);
  assert.ok(created >= from && created <= Date.now(), `${id} was not made during the call`);
  if (opts.ready !== false) await server.advance({ resourceId: id });
  return id;
}

/** The session as ListTrafficMirrorSessions shows it, or undefined when it is not listed. */
export async function getSession(
  server: TestServer,
  id: string,
  opts: CallOptions = {},
): Promise<Session | undefined> {
  const body = await callVia(opts.mode ?? 'vpc-v3', opts.creds ?? server, 'ListTrafficMirrorSessions', {
    RegionId: opts.regionId ?? REGION,
    TrafficMirrorSessionIds: [id],
  });
  const list = body.TrafficMirrorSessions;
  assert.ok(Array.isArray(list), 'TrafficMirrorSessions is a flat array');
  assert.ok(list.length <= 1);
  return list[0] as Session | undefined;
}

export async function statusOf(server: TestServer, id: string, opts: CallOptions = {}): Promise<string> {
  return (await getSession(server, id, opts))?.TrafficMirrorSessionStatus ?? 'gone';
}

/** DeleteTrafficMirrorSession with the given extra parameters. */
export function deleteCall(
  server: TestServer,
  id: string,
  extra: Record<string, unknown> = {},
  opts: CallOptions = {},
): Promise<Record<string, unknown>> {
  return callVia(opts.mode ?? 'vpc-v3', opts.creds ?? server, 'DeleteTrafficMirrorSession', {
    RegionId: opts.regionId ?? REGION,
    TrafficMirrorSessionId: id,
    ...extra,
  });
}

/** The HTTP status of an error thrown by either client family. */
export function httpStatusOf(err: Record<string, unknown>): number | undefined {
  if (typeof err.statusCode === 'number') return err.statusCode;
  const entry = err.entry as { response?: { statusCode?: number } } | undefined;
  return entry?.response?.statusCode;
}

/*
 * Set-up that has no API yet: a second account and a RAM user, written into the store the way
 * the account bootstrap does. Everything the tests then do goes through the clients.
 */

export interface Caller extends Credentials {
  readonly accountId: string;
}

/** Another account with its own root AccessKey. */
export async function addAccount(server: TestServer): Promise<Caller> {
  const now = Date.now();
  const accountId = newAccountId();
  await insertAccount(server.store.db, {
    id: accountId,
    name: `other-${accountId}`,
    default_resource_group_id: newResourceId('ResourceGroup'),
    created_at: now,
  });
  const key = rootKey(accountId, newAccessKeyId(), newAccessKeySecret(), now);
  await insertAccessKey(server.store.db, key);
  return {
    endpoint: server.endpoint,
    accessKeyId: key.access_key_id,
    accessKeySecret: key.secret,
    accountId,
  };
}

/** A RAM user of the server's account whose only permissions are the given policy statements. */
export async function addRamUser(
  server: TestServer,
  statements: readonly Record<string, unknown>[],
): Promise<Caller> {
  const now = Date.now();
  const db = server.store.db;
  const userName = `u${newAccessKeySecret().slice(0, 10).toLowerCase()}`;
  await db
    .insertInto('ram_users')
    .values({
      account_id: server.accountId,
      user_name: userName,
      user_id: newAccountId(),
      display_name: userName,
      created_at: now,
    })
    .execute();
  await db
    .insertInto('policies')
    .values({
      account_id: server.accountId,
      policy_name: `p-${userName}`,
      document: JSON.stringify({ Version: '1', Statement: statements }),
      description: '',
      created_at: now,
    })
    .execute();
  await db
    .insertInto('policy_attachments')
    .values({
      account_id: server.accountId,
      principal_type: 'User',
      principal_name: userName,
      policy_type: 'Custom',
      policy_name: `p-${userName}`,
    })
    .execute();
  const key = {
    ...rootKey(server.accountId, newAccessKeyId(), newAccessKeySecret(), now),
    user_name: userName,
  };
  await insertAccessKey(db, key);
  return {
    endpoint: server.endpoint,
    accessKeyId: key.access_key_id,
    accessKeySecret: key.secret,
    accountId: server.accountId,
  };
}

/**
 * A second node on the same store whose limits differ (the limits are server configuration, not
 * API), for quota tests. It shares credentials and data with `server`.
 */
export async function nodeWithLimits(
  server: TestServer,
  limits: Partial<ResourceLimits>,
): Promise<{ creds: Credentials; close(): Promise<void> }> {
  const config = { ...server.app.config, limits: { ...server.app.config.limits, ...limits } };
  const app = createApp(config, server.store, createLogger('silent'));
  const running = await listen(app, '127.0.0.1', 0);
  return {
    creds: {
      endpoint: `127.0.0.1:${running.port}`,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    },
    async close() {
      await running.close();
      await app.stop();
    },
  };
}
