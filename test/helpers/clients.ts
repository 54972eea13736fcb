/**
 * The official clients, pointed at a test server: @alicloud/vpc20160428 (V3 by default, V1 with
 * signatureAlgorithm 'v2') and @alicloud/pop-core (GET by default, or POST). Tests of the server
 * talk through these, never through the project's own signer.
 */
import { Agent as HttpsAgent } from 'node:https';
import * as $OpenApi from '@alicloud/openapi-core';
import RPCClient from '@alicloud/pop-core';
import Vpc from '@alicloud/vpc20160428';

export interface Credentials {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** Set for a server serving HTTPS: the certificate (PEM) to trust; the clients then speak TLS. */
  readonly ca?: string;
}

export type VpcClient = InstanceType<typeof Vpc.default>;

export function vpcClient(c: Credentials, signature: 'v3' | 'v1' = 'v3'): VpcClient {
  const config = new $OpenApi.$OpenApiUtil.Config({
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    ...(c.securityToken ? { securityToken: c.securityToken } : {}),
    endpoint: c.endpoint,
    protocol: c.ca === undefined ? 'http' : 'https',
    ...(c.ca === undefined ? {} : { ca: c.ca }),
    regionId: 'cn-hangzhou',
    ...(signature === 'v1' ? { signatureAlgorithm: 'v2' } : {}),
  });
  return new Vpc.default(config);
}

export type PopClient = InstanceType<typeof RPCClient>;

export function popClient(c: Credentials): PopClient {
  return new RPCClient({
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    ...(c.securityToken ? { securityToken: c.securityToken } : {}),
    endpoint: `${c.ca === undefined ? 'http' : 'https'}://${c.endpoint}`,
    apiVersion: '2016-04-28',
  });
}

/** pop-core's request options: over TLS, an agent that trusts the test certificate. */
function popOptions(c: Credentials, method: 'GET' | 'POST'): Record<string, unknown> {
  return c.ca === undefined ? { method } : { method, agent: new HttpsAgent({ ca: c.ca }) };
}

/** How the official SDK sends a VPC operation: RPC style, form body, JSON answer. */
export function rpcParams(action: string): InstanceType<typeof $OpenApi.$OpenApiUtil.Params> {
  return new $OpenApi.$OpenApiUtil.Params({
    action,
    version: '2016-04-28',
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}

/** One generic RPC call through the V3 or V1 runtime of the official SDK. */
export async function sdkCall(
  client: VpcClient,
  action: string,
  query: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const params = rpcParams(action);
  const request = new $OpenApi.$OpenApiUtil.OpenApiRequest({ query: $OpenApi.OpenApiUtil.query(query) });
  const runtime = {};
  const r = await client.callApi(params, request, runtime as never);
  return r.body as Record<string, unknown>;
}

export const CLIENT_MODES = ['vpc-v3', 'vpc-v1', 'pop-get', 'pop-post'] as const;
export type ClientMode = (typeof CLIENT_MODES)[number];

/** pop-core parses with json-bigint, which builds null-prototype objects. */
function plain(v: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
}

/** Calls an action through one of the four client modes and returns the raw answer body. */
export async function callVia(
  mode: ClientMode,
  c: Credentials,
  action: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  switch (mode) {
    case 'vpc-v3':
      return sdkCall(vpcClient(c, 'v3'), action, params);
    case 'vpc-v1':
      return sdkCall(vpcClient(c, 'v1'), action, params);
    case 'pop-get':
      return plain(await popClient(c).request(action, params, popOptions(c, 'GET')));
    case 'pop-post':
      return plain(await popClient(c).request(action, params, popOptions(c, 'POST')));
  }
}

/** Runs `fn`, expecting it to throw an error carrying `code`; returns the error. */
export async function expectCode(fn: () => Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    const err = e as Record<string, unknown>;
    if (err.code !== code) {
      throw new Error(`expected error code ${code}, got ${String(err.code)}: ${String(err.message)}`);
    }
    return err;
  }
  throw new Error(`expected error code ${code}, but the call succeeded`);
}

/** Settles every call; returns the successes and the error codes (sorted). */
export async function race(calls: Array<() => Promise<unknown>>): Promise<{ ok: number; codes: string[] }> {
  const results = await Promise.allSettled(calls.map((c) => c()));
  const codes: string[] = [];
  let ok = 0;
  for (const r of results) {
    if (r.status === 'fulfilled') ok += 1;
    else codes.push(String((r.reason as Record<string, unknown>).code));
  }
  return { ok, codes: codes.sort() };
}
