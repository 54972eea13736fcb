/**
 * A seeded, bounded fuzz of every operation in the table, through the official clients (pop-core
 * V1 GET and POST, and the V3 runtime of @alicloud/vpc20160428). Each request starts as a
 * plausible call of a random operation and takes a few mutations: a required parameter dropped,
 * unknown parameters, wrong types, long and odd strings, list indexes out of range, another
 * account's ids, ids of deleted resources, ClientToken reuse, odd DryRun and NextToken values.
 *
 * Every answer must be below 500, a JSON envelope with a RequestId, and an error must carry a code
 * docs/errors.md lists for that operation with that HTTP status, and a message. Afterwards the
 * server still answers, the sentinel resources of a second account are exactly as before, and no
 * answer to the first account ever named anything of the second.
 *
 * The requests follow one another (no concurrency) and transitions move only when the PRNG says
 * so, so that a seed replays the same sequence of calls (only the server's fresh ids differ); the
 * seed is in the test name, and VPCMIRROR_FUZZ_SEED runs another one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as $OpenApi from '@alicloud/openapi-core';
import { PageTokens } from '../../src/api/page-tokens.js';
import { OPERATIONS } from '../../src/api/registry.js';
import type { ParamSpec, ScalarSpec } from '../../src/api/schema.js';
import {
  type Credentials,
  callVia,
  type PopClient,
  popClient,
  rpcParams,
  type VpcClient,
  vpcClient,
} from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';
import {
  addAccount,
  type Caller,
  deleteCall,
  eni,
  getSession,
  httpStatusOf,
  makeFilter,
  makeSession,
  REGION,
} from './session-fixtures.js';

const SEED = Number(process.env.VPCMIRROR_FUZZ_SEED ?? '20160428');
const REQUESTS = 1500;
/** Long enough for a slow CI machine, short enough that a hung request fails the run. */
const CALL_TIMEOUT_MS = 20_000;

interface DocumentedCode {
  readonly code: RegExp;
  readonly status: number;
}

/**
 * Reads the tables of docs/errors.md: the common ones ("Every operation", "Other codes") apply to
 * every action, a "### Action" table to that action. `Missing{Name}` stands for a family of codes.
 */
function documentedCodes(): { common: DocumentedCode[]; byAction: Map<string, DocumentedCode[]> } {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  const common: DocumentedCode[] = [];
  const byAction = new Map<string, DocumentedCode[]>();
  let current: DocumentedCode[] | undefined;
  for (const line of text.split('\n')) {
    const action = /^### (\w+)\s*$/.exec(line);
    if (action?.[1]) {
      current = [];
      byAction.set(action[1], current);
      continue;
    }
    if (line.startsWith('## ')) {
      current = /^## (Every operation|Other codes)/.test(line) ? common : undefined;
      continue;
    }
    const row = /^\| `([^`]+)` \| (\d{3}) \|/.exec(line);
    if (row?.[1] && row[2] && current) {
      const pattern = row[1]
        .split(/\{\w+\}/)
        .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
        .join('[A-Za-z][A-Za-z0-9.]*');
      current.push({ code: new RegExp(`^${pattern}$`), status: Number(row[2]) });
    }
  }
  return { common, byAction };
}

class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  float(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(bound: number): number {
    return Math.floor(this.float() * bound);
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  mixCase(s: string): string {
    return [...s].map((c) => (this.chance(0.5) ? c.toLowerCase() : c.toUpperCase())).join('');
  }
}

/** Wire parameters in the order they were set: flat `Name.N.Field` keys, string values. */
type Wire = Map<string, string>;

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** Texts no integer parameter takes; a few that it does, at the edges. */
const BAD_INTEGERS = [
  '',
  ' ',
  'abc',
  '1.5',
  '-1',
  '0',
  '1e3',
  '0x10',
  '+1',
  '01',
  ' 1',
  '1 ',
  '٣',
  '１',
  'NaN',
  'Infinity',
  'true',
  '9007199254740993',
  '99999999999999999999',
  '-9223372036854775809',
  String(2 ** 31),
  String(2 ** 53),
  '32767',
  '16777216',
  '8501',
  '63',
];
const BAD_BOOLEANS = ['', ' ', 'yes', '1', '0', 'TRUE', 'tRuE', 'False', ' true', 'null', 'garbage'];
/** Characters that have broken parsers, encoders and databases elsewhere (no lone surrogates: no client can encode them). */
const ODD_PIECES = [
  'é',
  '中文',
  '🙂',
  '𝕏',
  '\u200b',
  '\ufeff',
  '\u202e',
  'e\u0301',
  '\u2028',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\t',
  '\n',
  '\r\n',
  ' ',
  '%',
  '%25',
  '%00',
  '+',
  '&',
  '=',
  '#',
  '?',
  '/',
  '\\',
  '"',
  "'",
  '<a>',
  '$\u007bx}',
  "'; drop table tags; --",
  '\uffff',
  '\ufffd',
  'http://x',
  'aliyun',
  'acs:',
];
/** NextTokens: garbage, and tokens of the earlier form and of ListTagResources' form around odd contents. */
const ODD_TOKENS = [
  '',
  ' ',
  'abc',
  '====',
  b64('tm1:'),
  b64('tm1:0'),
  b64('tm1:-1'),
  b64('tm1:999999999999999'),
  b64('tm1:1\u0000'),
  `${b64('tm1:1')}=`,
  b64('["tg1","",""]'),
  b64('["tg1","tms-\\u0000","\\u0000"]'),
  b64('["tg1","\\ud800","k"]'),
  b64('["tg1",1,2]'),
  b64('["tg1"]'),
  b64(`["tg1","${'z'.repeat(300)}","k"]`),
  b64('{"tg1":1}'),
  b64('null'),
  'x'.repeat(257),
  'x'.repeat(513),
];

interface Foreign {
  readonly caller: Caller;
  readonly sessionId: string;
  readonly filterId: string;
  readonly ruleIds: readonly string[];
  readonly resourceGroupId: string;
  readonly tag: { readonly Key: string; readonly Value: string };
  readonly nextToken: string;
}

interface World {
  readonly rng: Rng;
  /** Account A's ids as its answers showed them, newest last. */
  readonly sessions: string[];
  readonly filters: string[];
  readonly rules: string[];
  /** The filter of each rule A's answers showed. */
  readonly ruleFilters: Map<string, string>;
  /** The sources of each session, as A's answers last showed them. */
  readonly sessionSources: Map<string, readonly string[]>;
  readonly deleted: { readonly session: string; readonly filter: string; readonly rule: string };
  readonly resourceGroupId: string;
  readonly nextTokens: string[];
  /** Tokens the server would accept from A, sealed for odd positions (none it ever issued). */
  readonly sealedTokens: readonly string[];
  readonly enis: string[];
  readonly b: Foreign;
}

function remember(list: string[], id: string): void {
  if (list.includes(id)) return;
  list.push(id);
  // A bounded pool that keeps the newest: fresh resources are the likely ones to be in flux.
  if (list.length > 40) list.shift();
}

type Kind = 'session' | 'filter' | 'rule';

/** An id for a parameter of `kind`: mostly A's own, sometimes deleted, B's, of another kind or malformed. */
function idOf(w: World, kind: Kind): string {
  const { rng } = w;
  const own = { session: w.sessions, filter: w.filters, rule: w.rules }[kind];
  const roll = rng.float();
  if (roll < 0.7 && own.length > 0) return rng.pick(own);
  if (roll < 0.78) return w.deleted[kind];
  if (roll < 0.86)
    return kind === 'session' ? w.b.sessionId : kind === 'filter' ? w.b.filterId : rng.pick(w.b.ruleIds);
  if (roll < 0.9)
    return idOf(w, rng.pick((['session', 'filter', 'rule'] as const).filter((k) => k !== kind)));
  const prefix = { session: 'tms-', filter: 'tmf-', rule: 'tmr-' }[kind];
  return rng.pick([
    prefix,
    `${prefix}00000000aaaaaaaaaaaaa`,
    `${prefix}${'z'.repeat(60)}`,
    (own[0] ?? prefix).toUpperCase(),
    ` ${own[0] ?? prefix}`,
    `${own[0] ?? prefix}\u0000`,
    `${own[0] ?? prefix}%`,
  ]);
}

/** A NextToken an answer gave (A's or B's), garbage, or the server's own forms around odd contents. */
function nextToken(w: World): string {
  const { rng } = w;
  const roll = rng.float();
  if (roll < 0.35) return rng.pick([w.b.nextToken, ...w.nextTokens]);
  if (roll < 0.6) return rng.pick(ODD_TOKENS);
  if (roll < 0.7) return rng.pick(w.sealedTokens);
  if (roll < 0.8) {
    // The token form of an earlier version: refused as any other made-up token.
    const seq = rng.pick(['', '-1', '0', '1.5', ' 1', '9'.repeat(16), String(rng.int(1000)), oddString(rng)]);
    return b64(`tm1:${seq}`);
  }
  const id = rng.chance(0.5) ? idOf(w, rng.pick(['session', 'filter'] as const)) : oddString(rng);
  return b64(JSON.stringify(['tg1', id, oddString(rng)]));
}

function oddString(rng: Rng): string {
  const pieces = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(ODD_PIECES));
  return rng.chance(0.3) ? `name-${pieces.join('')}` : pieces.join('');
}

function longString(rng: Rng): string {
  const length = rng.pick([65, 129, 257, 513, 1025, 2049, 4096]);
  const unit = rng.pick(['x', 'é', '中', '🙂', 'a b', '%2']);
  // Cut by code points: half a surrogate pair is text no client can encode.
  return [...unit.repeat(length)].slice(0, length).join('');
}

function tagPair(w: World): { Key: string; Value: string } {
  const { rng } = w;
  return {
    Key: rng.pick(['env', 'team', 'fz-a', 'fz-b', 'fz-c', 'owner']),
    Value: rng.pick(['prod', 'dev', '', 'v1', 'v2']),
  };
}

function setTags(wire: Wire, w: World, name: string, count: number, filter = false): void {
  for (let i = 1; i <= count; i++) {
    // Only list filters ever name B's tag: A's answers may then never show it.
    const t = filter && w.rng.chance(0.2) ? w.b.tag : tagPair(w);
    wire.set(`${name}.${i}.Key`, t.Key);
    if (!filter || w.rng.chance(0.7)) wire.set(`${name}.${i}.Value`, t.Value);
  }
}

/** CIDRs and port ranges a parser might get wrong, now and then among the plain ones. */
const NEAR_CIDRS = [
  '10.0.0.0/33',
  '10.0.0.0/-1',
  '10.0.0.0/08',
  '10.0.0.0',
  '10.0.0.1/8',
  '010.0.0.0/8',
  '10.0.0.0/8/8',
  '::ffff:10.0.0.0/104',
  '2001:db8::/129',
  '2001:db8:::/32',
  'fe80::1%eth0/64',
  '0.0.0.0/0 ',
  '１０.0.0.0/8',
];
const NEAR_PORTS = [
  '0/0',
  '1/65536',
  '65535/65535',
  '80',
  '80/',
  '/80',
  '80-90',
  '1.5/2',
  '01/02',
  ' 1/2',
  '-1/80',
  '9'.repeat(20),
];

function cidr(rng: Rng, plain: readonly string[]): string {
  return rng.chance(0.05) ? rng.pick(NEAR_CIDRS) : rng.pick(plain);
}

function ports(rng: Rng, plain: readonly string[]): string {
  return rng.chance(0.05) ? rng.pick(NEAR_PORTS) : rng.pick(plain);
}

function setRules(wire: Wire, w: World, name: string, count: number): void {
  const { rng } = w;
  for (let i = 1; i <= count; i++) {
    const protocol = rng.pick(['ALL', 'ICMP', 'TCP', 'UDP']);
    const v6 = rng.chance(0.2);
    wire.set(`${name}.${i}.Action`, rng.pick(['accept', 'drop']));
    wire.set(`${name}.${i}.Protocol`, protocol);
    // A priority is unique per filter and direction: often leaving it out lets the server choose.
    if (rng.chance(0.4)) wire.set(`${name}.${i}.Priority`, String(1 + rng.int(10)));
    if (v6) wire.set(`${name}.${i}.IpVersion`, 'IPv6');
    if (rng.chance(0.6))
      wire.set(
        `${name}.${i}.SourceCidrBlock`,
        cidr(rng, v6 ? ['2001:db8::/32'] : ['10.0.0.0/8', '0.0.0.0/0']),
      );
    if (rng.chance(0.6))
      wire.set(
        `${name}.${i}.DestinationCidrBlock`,
        cidr(rng, v6 ? ['::/0'] : ['192.168.1.0/24', '0.0.0.0/0']),
      );
    if (protocol === 'TCP' || protocol === 'UDP' || rng.chance(0.1)) {
      wire.set(`${name}.${i}.SourcePortRange`, ports(rng, ['1/65535', '80/80', '1024/2048']));
      wire.set(`${name}.${i}.DestinationPortRange`, ports(rng, ['1/65535', '443/443', '22/22']));
    }
  }
}

/** Distinct ENIs (a repeated one is refused before anything else is checked), mostly from a small pool. */
function setSources(wire: Wire, w: World, name: string): void {
  const chosen = new Set<string>();
  const count = 1 + w.rng.int(3);
  while (chosen.size < count) chosen.add(w.rng.chance(0.3) ? eni() : w.rng.pick(w.enis));
  setList(wire, name, [...chosen]);
}

function setList(wire: Wire, name: string, values: readonly string[]): void {
  values.forEach((v, i) => {
    wire.set(`${name}.${i + 1}`, v);
  });
}

function resourceType(w: World): { type: string; kind: 'session' | 'filter' } {
  const kind = w.rng.chance(0.5) ? 'session' : 'filter';
  const canonical = kind === 'session' ? 'TrafficMirrorSession' : 'TrafficMirrorFilter';
  return { kind, type: w.rng.chance(0.5) ? w.rng.mixCase(canonical) : canonical };
}

function some<T>(rng: Rng, make: () => T, max: number): T[] {
  return Array.from({ length: 1 + rng.int(max) }, make);
}

/** A plausible call of each operation for account A: right types, ids from its own answers. */
/** The region and, sometimes, ids: how both List calls begin (the draws keep their order). */
function listStart(w: World, wire: Wire, idsName: string, kind: 'session' | 'filter'): void {
  wire.set('RegionId', REGION);
  if (w.rng.chance(0.3))
    setList(
      wire,
      idsName,
      some(w.rng, () => idOf(w, kind), 3),
    );
}

/** A resource group, tags and a page: how both List calls end. */
function listEnd(w: World, wire: Wire): void {
  const { rng } = w;
  if (rng.chance(0.1)) wire.set('ResourceGroupId', rng.pick([w.resourceGroupId, w.b.resourceGroupId]));
  if (rng.chance(0.2)) setTags(wire, w, 'Tags', 1 + rng.int(2), true);
  if (rng.chance(0.4)) wire.set('MaxResults', String(1 + rng.int(100)));
  if (rng.chance(0.3)) wire.set('NextToken', nextToken(w));
}

/** The region, a resource type and up to two of its ids: what TagResources and UnTagResources act on. */
function tagTarget(w: World, wire: Wire): void {
  const { type, kind } = resourceType(w);
  wire.set('RegionId', REGION);
  wire.set('ResourceType', type);
  setList(
    wire,
    'ResourceId',
    some(w.rng, () => idOf(w, kind), 2),
  );
}

const BUILDERS: Readonly<Record<string, (w: World, wire: Wire) => void>> = {
  DescribeRegions(w, wire) {
    if (w.rng.chance(0.5)) wire.set('AcceptLanguage', w.rng.pick(['zh-CN', 'en-US', 'ja']));
  },
  GetTrafficMirrorServiceStatus(w, wire) {
    if (w.rng.chance(0.8)) wire.set('RegionId', REGION);
  },
  OpenTrafficMirrorService(w, wire) {
    // Each region opens once; a few of them let the fuzz see the first opening, not only ORDER.OPEND.
    if (w.rng.chance(0.8))
      wire.set(
        'RegionId',
        w.rng.pick([REGION, 'cn-beijing', 'cn-shanghai', 'ap-southeast-1', 'eu-central-1']),
      );
  },
  CreateTrafficMirrorFilter(w, wire) {
    wire.set('RegionId', REGION);
    if (w.rng.chance(0.7)) wire.set('TrafficMirrorFilterName', `fz-${w.rng.int(1000)}`);
    if (w.rng.chance(0.3)) wire.set('TrafficMirrorFilterDescription', 'fuzz');
    if (w.rng.chance(0.2)) wire.set('ResourceGroupId', w.resourceGroupId);
    if (w.rng.chance(0.5)) setRules(wire, w, 'IngressRules', 1 + w.rng.int(3));
    if (w.rng.chance(0.5)) setRules(wire, w, 'EgressRules', 1 + w.rng.int(3));
    if (w.rng.chance(0.4)) setTags(wire, w, 'Tag', 1 + w.rng.int(3));
  },
  CreateTrafficMirrorFilterRules(w, wire) {
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorFilterId', idOf(w, 'filter'));
    if (w.rng.chance(0.7)) setRules(wire, w, 'IngressRules', 1 + w.rng.int(3));
    if (w.rng.chance(0.7)) setRules(wire, w, 'EgressRules', 1 + w.rng.int(3));
  },
  UpdateTrafficMirrorFilterAttribute(w, wire) {
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorFilterId', idOf(w, 'filter'));
    if (w.rng.chance(0.7)) wire.set('TrafficMirrorFilterName', `fz-${w.rng.int(1000)}`);
    if (w.rng.chance(0.5)) wire.set('TrafficMirrorFilterDescription', `d-${w.rng.int(1000)}`);
  },
  DeleteTrafficMirrorFilter(w, wire) {
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorFilterId', idOf(w, 'filter'));
  },
  DeleteTrafficMirrorFilterRules(w, wire) {
    const rules = some(w.rng, () => idOf(w, 'rule'), 2);
    // Mostly the rules' own filter: any filter at all would almost never match.
    const own = w.rng.chance(0.7) ? w.ruleFilters.get(rules[0] ?? '') : undefined;
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorFilterId', own ?? idOf(w, 'filter'));
    setList(wire, 'TrafficMirrorFilterRuleIds', rules);
  },
  UpdateTrafficMirrorFilterRuleAttribute(w, wire) {
    const { rng } = w;
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorFilterRuleId', idOf(w, 'rule'));
    if (rng.chance(0.4)) wire.set('RuleAction', rng.pick(['accept', 'drop']));
    if (rng.chance(0.4)) wire.set('Protocol', rng.pick(['ALL', 'ICMP', 'TCP', 'UDP']));
    if (rng.chance(0.4)) wire.set('Priority', String(1 + rng.int(10)));
    if (rng.chance(0.3)) wire.set('SourceCidrBlock', cidr(rng, ['10.0.0.0/8', '::/0', '300.1.1.1/8']));
    if (rng.chance(0.3)) wire.set('DestinationCidrBlock', cidr(rng, ['0.0.0.0/0', '10.1.0.0/16']));
    if (rng.chance(0.3)) wire.set('SourcePortRange', ports(rng, ['1/65535', '-1/-1', '90/80', '0/70000']));
    if (rng.chance(0.3)) wire.set('DestinationPortRange', ports(rng, ['443/443', '1/1']));
  },
  CreateTrafficMirrorSession(w, wire) {
    const { rng } = w;
    wire.set('RegionId', REGION);
    setSources(wire, w, 'TrafficMirrorSourceIds');
    const slb = rng.chance(0.2);
    wire.set('TrafficMirrorTargetId', slb ? 'lb-fuzz1' : rng.pick(['eni-target1', 'eni-target2']));
    wire.set('TrafficMirrorTargetType', slb ? 'SLB' : 'NetworkInterface');
    wire.set('TrafficMirrorFilterId', idOf(w, 'filter'));
    wire.set('Priority', String(1 + rng.int(32766)));
    if (rng.chance(0.4)) wire.set('VirtualNetworkId', String(rng.int(16777216)));
    if (rng.chance(0.3)) wire.set('PacketLength', String(64 + rng.int(8437)));
    if (rng.chance(0.4)) wire.set('Enabled', rng.pick(['true', 'false']));
    if (rng.chance(0.5)) wire.set('TrafficMirrorSessionName', `s-${rng.int(1000)}`);
    if (rng.chance(0.2)) wire.set('TrafficMirrorSessionDescription', 'fuzz');
    if (rng.chance(0.2)) wire.set('ResourceGroupId', w.resourceGroupId);
    if (rng.chance(0.3)) setTags(wire, w, 'Tag', 1 + rng.int(3));
    if (rng.chance(0.1)) wire.set('TrafficMirrorSourceTruncateMode', String(rng.int(3)));
  },
  UpdateTrafficMirrorSessionAttribute(w, wire) {
    const { rng } = w;
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorSessionId', idOf(w, 'session'));
    if (rng.chance(0.3)) wire.set('TrafficMirrorSessionName', `s-${rng.int(1000)}`);
    if (rng.chance(0.2)) wire.set('TrafficMirrorSessionDescription', 'fuzz');
    if (rng.chance(0.2)) {
      const slb = rng.chance(0.3);
      wire.set('TrafficMirrorTargetId', slb ? 'lb-fuzz2' : 'eni-target3');
      wire.set('TrafficMirrorTargetType', slb ? 'SLB' : 'NetworkInterface');
    }
    if (rng.chance(0.2)) wire.set('TrafficMirrorFilterId', idOf(w, 'filter'));
    if (rng.chance(0.2)) wire.set('VirtualNetworkId', String(rng.int(16777216)));
    if (rng.chance(0.2)) wire.set('Priority', String(1 + rng.int(32766)));
    if (rng.chance(0.2)) wire.set('PacketLength', String(64 + rng.int(8437)));
    if (rng.chance(0.3)) wire.set('Enabled', rng.pick(['true', 'false']));
  },
  DeleteTrafficMirrorSession(w, wire) {
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorSessionId', idOf(w, 'session'));
  },
  AddSourcesToTrafficMirrorSession(w, wire) {
    const session = idOf(w, 'session');
    const present = w.sessionSources.get(session) ?? [];
    // Mostly ENIs the session lacks: a present one is refused before anything else is checked.
    const absent = w.enis.filter((e) => !present.includes(e));
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorSessionId', session);
    if (w.rng.chance(0.2) || absent.length === 0) setSources(wire, w, 'TrafficMirrorSourceIds');
    else wire.set('TrafficMirrorSourceIds.1', w.rng.chance(0.5) ? eni() : w.rng.pick(absent));
  },
  RemoveSourcesFromTrafficMirrorSession(w, wire) {
    const known = [...w.sessionSources].filter(([, sources]) => sources.length > 0);
    const [session, sources] =
      w.rng.chance(0.7) && known.length > 0 ? w.rng.pick(known) : [idOf(w, 'session'), []];
    wire.set('RegionId', REGION);
    wire.set('TrafficMirrorSessionId', session);
    if (sources.length > 0 && w.rng.chance(0.8)) wire.set('TrafficMirrorSourceIds.1', w.rng.pick(sources));
    else setSources(wire, w, 'TrafficMirrorSourceIds');
  },
  ListTrafficMirrorSessions(w, wire) {
    const { rng } = w;
    listStart(w, wire, 'TrafficMirrorSessionIds', 'session');
    if (rng.chance(0.1)) wire.set('TrafficMirrorSessionName', `s-${rng.int(1000)}`);
    if (rng.chance(0.1)) wire.set('TrafficMirrorSourceId', rng.pick(w.enis));
    if (rng.chance(0.1)) wire.set('TrafficMirrorTargetId', 'eni-target1');
    if (rng.chance(0.15)) wire.set('TrafficMirrorFilterId', idOf(w, 'filter'));
    if (rng.chance(0.05)) wire.set('VirtualNetworkId', String(rng.int(16777216)));
    if (rng.chance(0.05)) wire.set('Priority', String(1 + rng.int(32766)));
    if (rng.chance(0.1)) wire.set('Enabled', rng.pick(['true', 'false']));
    listEnd(w, wire);
  },
  ListTrafficMirrorFilters(w, wire) {
    listStart(w, wire, 'TrafficMirrorFilterIds', 'filter');
    if (w.rng.chance(0.1)) wire.set('TrafficMirrorFilterName', `fz-${w.rng.int(1000)}`);
    listEnd(w, wire);
  },
  ListTagResources(w, wire) {
    const { rng } = w;
    const { type, kind } = resourceType(w);
    wire.set('RegionId', REGION);
    wire.set('ResourceType', type);
    const byId = rng.chance(0.6);
    if (byId)
      setList(
        wire,
        'ResourceId',
        some(rng, () => idOf(w, kind), 3),
      );
    // Without ResourceId.N the call needs a tag to list by.
    if (!byId || rng.chance(0.4)) setTags(wire, w, 'Tag', 1 + rng.int(2), true);
    if (rng.chance(0.4)) wire.set('MaxResults', String(1 + rng.int(50)));
    if (rng.chance(0.3)) wire.set('NextToken', nextToken(w));
  },
  TagResources(w, wire) {
    tagTarget(w, wire);
    setTags(wire, w, 'Tag', 1 + w.rng.int(3));
  },
  UnTagResources(w, wire) {
    tagTarget(w, wire);
    if (w.rng.chance(0.6))
      setList(
        wire,
        'TagKey',
        some(w.rng, () => tagPair(w).Key, 2),
      );
    if (w.rng.chance(0.4)) wire.set('All', w.rng.pick(['true', 'false']));
  },
  MoveResourceGroup(w, wire) {
    const { type, kind } = resourceType(w);
    wire.set('RegionId', REGION);
    wire.set('ResourceType', type);
    wire.set('ResourceId', idOf(w, kind));
    wire.set(
      'NewResourceGroupId',
      w.rng.pick([w.resourceGroupId, 'rg-fuzzaaaaa', 'rg-fuzzbbbbb', w.b.resourceGroupId]),
    );
  },
};

/** Where a parameter of the operation's schema lives on the wire, with the spec of that value. */
function wireSlots(params: Readonly<Record<string, ParamSpec>>, rng: Rng): Array<[string, ScalarSpec]> {
  const slots: Array<[string, ScalarSpec]> = [];
  for (const [name, spec] of Object.entries(params)) {
    if (spec.type === 'list') slots.push([`${name}.${1 + rng.int(3)}`, spec.item]);
    else if (spec.type === 'objectList')
      for (const [field, f] of Object.entries(spec.fields))
        slots.push([`${name}.${1 + rng.int(3)}.${field}`, f]);
    else slots.push([name, spec]);
  }
  return slots;
}

function badValueFor(rng: Rng, spec: ScalarSpec): string {
  // Mostly a value wrong for this type; sometimes one wrong for any type.
  const type = rng.chance(0.75) ? spec.type : rng.pick(['integer', 'boolean', 'string'] as const);
  if (type === 'integer') return rng.pick(BAD_INTEGERS);
  if (type === 'boolean') return rng.pick(BAD_BOOLEANS);
  return rng.chance(0.35) ? longString(rng) : oddString(rng);
}

function listKeys(wire: Wire, name: string): string[] {
  return [...wire.keys()].filter((k) => k.startsWith(`${name}.`));
}

const CLIENT_TOKENS = ['fz-token-1', 'fz-token-2', 'fz-token-3', 'fz-token-4'];

type Mutation = (w: World, wire: Wire, params: Readonly<Record<string, ParamSpec>>, mode: Mode) => string;

const MUTATIONS: ReadonlyArray<readonly [weight: number, mutate: Mutation]> = [
  [
    3,
    (w, wire, params) => {
      const required = Object.entries(params).filter(([, s]) => s.required === true);
      if (required.length === 0) return 'nothing to drop';
      const [name] = w.rng.pick(required);
      wire.delete(name);
      for (const k of listKeys(wire, name)) wire.delete(k);
      return `drop ${name}`;
    },
  ],
  [
    2,
    (w, wire, _params, mode) => {
      const key = w.rng.pick([
        // The V3 SDK signs parameter names unencoded (the server, as the signature spec says,
        // encodes them), so only V1 clients can carry a name outside [A-Za-z0-9._~-].
        mode === 'vpc-v3' ? 'Foo-Bar' : 'Ä',
        'Foo',
        'X.1',
        'regionId',
        'RegionId.1',
        'TrafficMirrorSessionIdx',
        'Tag.1.Extra',
        'Tag.1',
        'IngressRules.1.Bogus',
        'TrafficMirrorSourceIds.1.Id',
        'Tags.1.Key.2',
        `K${'k'.repeat(200)}`,
      ]);
      wire.set(key, w.rng.chance(0.5) ? 'x' : oddString(w.rng));
      return `unknown ${key}`;
    },
  ],
  [
    8,
    (w, wire, params) => {
      const [key, spec] = w.rng.pick(wireSlots(params, w.rng));
      const value = badValueFor(w.rng, spec);
      wire.set(key, value);
      return `bad ${key}`;
    },
  ],
  [
    3,
    (w, wire, params) => {
      const lists = Object.entries(params).filter(([, s]) => s.type === 'list' || s.type === 'objectList');
      if (lists.length === 0) return 'no list';
      const [name, spec] = w.rng.pick(lists);
      const index = w.rng.pick([
        '0',
        '21',
        '51',
        '101',
        '1000',
        '9999',
        '10000',
        '01',
        '-1',
        '1.5',
        'a',
        '',
        '2',
      ]);
      const field = spec.type === 'objectList' ? `.${w.rng.pick([...Object.keys(spec.fields), 'Key'])}` : '';
      const present = listKeys(wire, name);
      const model = present[0] !== undefined ? wire.get(present[0]) : undefined;
      if (w.rng.chance(0.5)) for (const k of present) wire.delete(k);
      wire.set(`${name}.${index}${field}`, model ?? 'v');
      return `index ${name}.${index}${field}`;
    },
  ],
  [
    2,
    (w, wire, params) => {
      const lists = Object.entries(params).filter(([, s]) => s.type === 'list' || s.type === 'objectList');
      if (lists.length === 0) return 'no list';
      const [name] = w.rng.pick(lists);
      const items = listKeys(wire, name).filter((k) => k.startsWith(`${name}.1`));
      const copies = w.rng.pick([1, 2, 20, 50, 100]);
      for (let n = 2; n <= 1 + copies; n++)
        for (const k of items) wire.set(`${name}.${n}${k.slice(`${name}.1`.length)}`, wire.get(k) ?? '');
      return `duplicate ${name}.1 x${copies}`;
    },
  ],
  [
    3,
    (w, wire) => {
      const slots = [...wire.keys()].filter((k) => /Id(s?\.\d+)?$/.test(k) && !k.startsWith('RegionId'));
      if (slots.length === 0) return 'no id';
      const key = w.rng.pick(slots);
      const kind = w.rng.pick(['session', 'filter', 'rule'] as const);
      wire.set(key, w.rng.pick([w.b.sessionId, w.b.filterId, w.deleted[kind], idOf(w, kind)]));
      return `foreign ${key}`;
    },
  ],
  [
    3,
    (w, wire) => {
      const token = w.rng.chance(0.85)
        ? w.rng.pick(CLIENT_TOKENS)
        : w.rng.pick(['', ' ', 't'.repeat(65), 'tøken', 'tok\u0001', oddString(w.rng)]);
      wire.set('ClientToken', token);
      return `ClientToken ${JSON.stringify(token)}`;
    },
  ],
  [
    2,
    (w, wire) => {
      const value = w.rng.pick(['true', 'false', ...BAD_BOOLEANS]);
      wire.set('DryRun', value);
      return `DryRun ${JSON.stringify(value)}`;
    },
  ],
  [
    2,
    (w, wire) => {
      wire.set('NextToken', nextToken(w));
      return 'NextToken';
    },
  ],
  [
    1,
    (w, wire) => {
      const value = w.rng.pick([
        w.rng.mixCase('TrafficMirrorSession'),
        w.rng.mixCase('TrafficMirrorFilter'),
        'TrafficMirrorRule',
        'session',
        '',
        ' TRAFFICMIRRORSESSION',
        'TRAFFICMIRRORSESSİON',
        'TRAFFICMIRRORSESSıON',
        'trafficmirrorſession',
        'TrafficMirrorSessions',
      ]);
      wire.set('ResourceType', value);
      return `ResourceType ${JSON.stringify(value)}`;
    },
  ],
  [
    1,
    (w, wire) => {
      const value = w.rng.pick([
        'cn-beijing',
        'cn-nowhere',
        'CN-HANGZHOU',
        '',
        ' cn-hangzhou',
        longString(w.rng),
      ]);
      wire.set('RegionId', value);
      return `RegionId ${JSON.stringify(value.slice(0, 20))}`;
    },
  ],
  [
    1,
    (w, wire) => {
      const value = w.rng.pick(['0', '1', '50', '51', '100', '101', '-1', 'ten', '']);
      wire.set('MaxResults', value);
      return `MaxResults ${JSON.stringify(value)}`;
    },
  ],
];

const TOTAL_WEIGHT = MUTATIONS.reduce((sum, [weight]) => sum + weight, 0);

function mutate(w: World, wire: Wire, params: Readonly<Record<string, ParamSpec>>, mode: Mode): string[] {
  const applied: string[] = [];
  const count = w.rng.pick([0, 0, 1, 1, 1, 2, 2, 3]);
  for (let i = 0; i < count; i++) {
    let roll = w.rng.int(TOTAL_WEIGHT);
    for (const [weight, m] of MUTATIONS) {
      if (roll < weight) {
        applied.push(m(w, wire, params, mode));
        break;
      }
      roll -= weight;
    }
  }
  return applied;
}

const MODES = ['pop-post', 'pop-get', 'vpc-v3'] as const;
type Mode = (typeof MODES)[number];

interface Call {
  readonly mode: Mode;
  readonly action: string;
  readonly wire: Wire;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

interface Clients {
  readonly pop: PopClient;
  readonly v3: VpcClient;
}

function clientsFor(c: Credentials): Clients {
  // pop-core reports the HTTP status only in verbose mode, and the status is the first invariant.
  return { pop: Object.assign(popClient(c), { verbose: true }), v3: vpcClient(c, 'v3') };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** pop-core parses with json-bigint, which builds null-prototype objects. */
function plain(v: unknown): Record<string, unknown> {
  const copy: unknown = JSON.parse(JSON.stringify(v));
  if (!isRecord(copy)) throw new Error(`the answer is not a JSON object: ${JSON.stringify(v)}`);
  return copy;
}

/** One call; an answer of any status, or throws when there was no readable answer at all. */
async function send(clients: Clients, mode: Mode, action: string, wire: Wire): Promise<Answer> {
  const params = Object.fromEntries(wire);
  try {
    if (mode === 'vpc-v3') {
      const r = await clients.v3.callApi(
        rpcParams(action),
        new $OpenApi.$OpenApiUtil.OpenApiRequest({ query: params }),
        { readTimeout: CALL_TIMEOUT_MS, connectTimeout: CALL_TIMEOUT_MS } as never,
      );
      return { status: Number(r.statusCode), body: plain(r.body) };
    }
    const [body, entry] = await clients.pop.request<[unknown, { response: { statusCode: number } }]>(
      action,
      params,
      { method: mode === 'pop-get' ? 'GET' : 'POST', timeout: CALL_TIMEOUT_MS },
    );
    return { status: entry.response.statusCode, body: plain(body) };
  } catch (e) {
    const err = isRecord(e) ? e : {};
    const status = httpStatusOf(err);
    // Both clients keep the parsed error body as `data`; without it the answer was unreadable.
    if (status === undefined || !isRecord(err.data)) throw e;
    return { status, body: plain(err.data) };
  }
}

/** Codes that would mean the server and an official client disagree on signing an honest request. */
const SIGNING_CODES = new Set([
  'IncompleteSignature',
  'SignatureDoesNotMatch',
  'SignatureNonceUsed',
  'InvalidTimeStamp.Format',
  'InvalidTimeStamp.Expired',
  'MissingAccessKeyId',
  'InvalidAccessKeyId.NotFound',
]);

function checkAnswer(
  action: string,
  a: Answer,
  docs: ReturnType<typeof documentedCodes>,
  secrets: readonly string[],
): string[] {
  const problems: string[] = [];
  if (a.status >= 500) problems.push(`HTTP ${a.status}`);
  if (typeof a.body.RequestId !== 'string' || a.body.RequestId === '') problems.push('no RequestId');
  const code = a.body.Code;
  if (a.status >= 400) {
    const allowed = [...docs.common, ...(docs.byAction.get(action) ?? [])];
    if (typeof code !== 'string' || code === '') problems.push(`HTTP ${a.status} without a Code`);
    else if (!allowed.some((d) => d.code.test(code) && d.status === a.status))
      problems.push(`${code} (HTTP ${a.status}) is not documented for ${action}`);
    else if (SIGNING_CODES.has(code))
      problems.push(`${code}: the server refused the official client's signature`);
    if (typeof a.body.Message !== 'string' || a.body.Message.trim() === '')
      problems.push(`${code} without a Message`);
  } else if (a.status !== 200) problems.push(`success with HTTP ${a.status}`);
  // OpenTrafficMirrorService answers Code "200", which every client reads as success.
  else if (code !== undefined && String(code) !== '200') problems.push(`HTTP 200 with Code ${String(code)}`);
  const text = JSON.stringify(a.body);
  for (const s of secrets) if (text.includes(s)) problems.push(`the answer names account B's ${s}`);
  return problems;
}

/** Short enough to read in a failure, exact enough to send again (JSON escapes show odd characters). */
function show(mode: Mode, action: string, wire: Wire): string {
  const params = [...wire].map(([k, v]) => {
    const cut = v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v;
    return `${k}=${JSON.stringify(cut)}`;
  });
  return `${mode} ${action} ${params.join(' ')}`;
}

async function snapshotOfB(server: TestServer, b: Foreign): Promise<Record<string, unknown>> {
  const as = (action: string, params: Record<string, unknown>) =>
    callVia('vpc-v3', b.caller, action, { RegionId: REGION, ...params });
  const strip = (body: Record<string, unknown>) => {
    const { RequestId: _ignored, ...rest } = body;
    return rest;
  };
  return {
    session: await getSession(server, b.sessionId, { creds: b.caller }),
    sessions: strip(await as('ListTrafficMirrorSessions', { MaxResults: 100 })),
    filters: strip(await as('ListTrafficMirrorFilters', { MaxResults: 100 })),
    sessionTags: strip(
      await as('ListTagResources', { ResourceType: 'TRAFFICMIRRORSESSION', ResourceId: [b.sessionId] }),
    ),
    filterTags: strip(
      await as('ListTagResources', { ResourceType: 'TRAFFICMIRRORFILTER', ResourceId: [b.filterId] }),
    ),
    service: strip(await as('GetTrafficMirrorServiceStatus', {})),
    otherRegion: strip(await as('ListTrafficMirrorSessions', { RegionId: 'cn-beijing' })),
  };
}

const ID_PATTERN = /\b(tms|tmf|tmr)-[a-z0-9]{21}\b/g;

/** What builders need to make calls that get past the first check: a rule's filter, a session's sources. */
function harvest(v: unknown, w: World): void {
  if (Array.isArray(v)) for (const item of v) harvest(item, w);
  else if (isRecord(v)) {
    const { TrafficMirrorFilterRuleId: rule, TrafficMirrorFilterId: filter } = v;
    if (typeof rule === 'string' && typeof filter === 'string') w.ruleFilters.set(rule, filter);
    const { TrafficMirrorSessionId: session, TrafficMirrorSourceIds: sources } = v;
    if (typeof session === 'string' && Array.isArray(sources))
      w.sessionSources.set(session, sources.map(String));
    for (const child of Object.values(v)) harvest(child, w);
  }
}

for (const storeKind of testStores()) {
  describe(`fuzz of every operation [${storeKind}]`, () => {
    let server: TestServer;
    let w: World;
    let before0: Record<string, unknown>;
    const docs = documentedCodes();

    before(async () => {
      server = await startTestServer({ store: storeKind, flags: { transitions: 'manual' } });
      const rng = new Rng(SEED);

      // B's sentinels: what A may name but must never see or change. All Created, so that any
      // change A's calls start shows in the comparison afterwards.
      const bCaller = await addAccount(server);
      const bTag = { Key: 'sentinel-b', Value: `sentinel-b-value-${bCaller.accountId}` };
      const bFilter = await makeFilter(server, { creds: bCaller });
      await callVia('vpc-v3', bCaller, 'CreateTrafficMirrorFilterRules', {
        RegionId: REGION,
        TrafficMirrorFilterId: bFilter,
        IngressRules: [
          {
            Action: 'accept',
            Protocol: 'TCP',
            Priority: 1,
            SourcePortRange: '1/65535',
            DestinationPortRange: '80/80',
          },
        ],
        EgressRules: [{ Action: 'drop', Protocol: 'ALL', Priority: 2 }],
      });
      await server.advance();
      await callVia('vpc-v3', bCaller, 'TagResources', {
        RegionId: REGION,
        ResourceType: 'TRAFFICMIRRORFILTER',
        ResourceId: [bFilter],
        Tag: [bTag, { Key: 'sentinel-b2', Value: 'x' }],
      });
      const bSession = await makeSession(
        server,
        bFilter,
        {
          Tag: [bTag, { Key: 'sentinel-b2', Value: 'y' }],
          Enabled: true,
          TrafficMirrorSourceIds: ['eni-fz1'],
        },
        { creds: bCaller },
      );
      const bFilters = await callVia('vpc-v3', bCaller, 'ListTrafficMirrorFilters', {
        RegionId: REGION,
        TrafficMirrorFilterIds: [bFilter],
      });
      const bRules = JSON.stringify(bFilters).match(/\btmr-[a-z0-9]{21}\b/g) ?? [];
      assert.equal(new Set(bRules).size, 2, 'B has two rules');
      const bSessionView = await getSession(server, bSession, { creds: bCaller });
      const bPage = await callVia('vpc-v3', bCaller, 'ListTagResources', {
        RegionId: REGION,
        ResourceType: 'TRAFFICMIRRORSESSION',
        ResourceId: [bSession],
        MaxResults: 1,
      });
      assert.ok(typeof bPage.NextToken === 'string' && bPage.NextToken !== '', 'B has a second page of tags');

      // A's own: enough for calls to get past existence checks, and one of each kind deleted.
      const a = (action: string, params: Record<string, unknown>) =>
        callVia('vpc-v3', server, action, { RegionId: REGION, ...params });
      const f1 = await makeFilter(server);
      await a('CreateTrafficMirrorFilterRules', {
        TrafficMirrorFilterId: f1,
        IngressRules: [
          {
            Action: 'accept',
            Protocol: 'TCP',
            Priority: 1,
            SourcePortRange: '1/65535',
            DestinationPortRange: '22/22',
          },
          {
            Action: 'drop',
            Protocol: 'UDP',
            Priority: 2,
            SourcePortRange: '53/53',
            DestinationPortRange: '53/53',
          },
        ],
        EgressRules: [{ Action: 'accept', Protocol: 'ALL', Priority: 1 }],
      });
      const f2 = await makeFilter(server);
      const f3 = await makeFilter(server);
      const doomedFilter = await makeFilter(server);
      await server.advance();
      const s1 = await makeSession(server, f1, {
        Tag: [{ Key: 'env', Value: 'prod' }],
        TrafficMirrorSourceIds: ['eni-fz1', 'eni-fz2'],
      });
      const s2 = await makeSession(server, f2, { TrafficMirrorSourceIds: ['eni-fz3'] });
      const doomedSession = await makeSession(server, f2);
      await a('DeleteTrafficMirrorFilter', { TrafficMirrorFilterId: doomedFilter });
      await deleteCall(server, doomedSession);
      const rulesBefore = JSON.stringify(
        await a('ListTrafficMirrorFilters', { TrafficMirrorFilterIds: [f1] }),
      );
      const ruleIds = [...new Set(rulesBefore.match(/\btmr-[a-z0-9]{21}\b/g) ?? [])];
      const doomedRule = ruleIds.pop();
      assert.ok(doomedRule !== undefined && ruleIds.length === 2, 'A has three rules');
      await a('DeleteTrafficMirrorFilterRules', {
        TrafficMirrorFilterId: f1,
        TrafficMirrorFilterRuleIds: [doomedRule],
      });
      await server.advance();
      const s1View = await getSession(server, s1);
      assert.ok(s1View !== undefined);

      w = {
        rng,
        sessions: [s1, s2],
        filters: [f1, f2, f3],
        rules: ruleIds,
        ruleFilters: new Map(ruleIds.map((r) => [r, f1])),
        sessionSources: new Map([
          [s1, ['eni-fz1', 'eni-fz2']],
          [s2, ['eni-fz3']],
        ]),
        deleted: { session: doomedSession, filter: doomedFilter, rule: doomedRule },
        resourceGroupId: String(s1View.ResourceGroupId),
        nextTokens: [],
        sealedTokens: await Promise.all(
          (['sessions', 'filters'] as const).flatMap((list) =>
            [0, 1, 2 ** 31, Number.MAX_SAFE_INTEGER].map((seq) =>
              new PageTokens().seal(server.store.db, { accountId: server.accountId, list }, seq),
            ),
          ),
        ),
        enis: ['eni-fz1', 'eni-fz2', 'eni-fz3', 'eni-fz4', 'eni-fz5'],
        b: {
          caller: bCaller,
          sessionId: bSession,
          filterId: bFilter,
          ruleIds: [...new Set(bRules)],
          resourceGroupId: String(bSessionView?.ResourceGroupId),
          tag: bTag,
          nextToken: String(bPage.NextToken),
        },
      };
      before0 = await snapshotOfB(server, w.b);
    });
    after(() => server?.close());

    test(`${REQUESTS} mutated calls and a NextToken sweep (seed ${SEED}): every answer is a documented envelope below 500, nothing of account B shows`, {
      timeout: 120_000,
    }, async (t) => {
      const actions = [...OPERATIONS.keys()].sort();
      assert.deepEqual(actions, Object.keys(BUILDERS).sort(), 'a builder for every registered operation');
      const clients = clientsFor(server);
      // What account A must never see: B's resources, account and key. B's resource group is not
      // among them: A may name any well-formed group id, B's too, and then sees it on its own resources.
      const secrets = [
        w.b.sessionId,
        w.b.filterId,
        ...w.b.ruleIds,
        w.b.caller.accountId,
        w.b.caller.accessKeyId,
        w.b.tag.Value,
      ];
      const failures = new Map<string, string>();
      const codes = new Map<string, number>();
      async function exchange(label: string, call: Call): Promise<void> {
        let problems: string[];
        let answer: Answer | undefined;
        try {
          answer = await send(clients, call.mode, call.action, call.wire);
          problems = checkAnswer(call.action, answer, docs, secrets);
        } catch (e) {
          problems = [`no readable answer: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`];
        }
        const code = answer === undefined ? 'none' : answer.status < 400 ? 'OK' : String(answer.body.Code);
        const tally = `${call.action} ${code}`;
        codes.set(tally, (codes.get(tally) ?? 0) + 1);
        for (const p of problems) {
          const key = `${call.action}: ${p.replace(/tm[sfr]-[a-z0-9]{21}/g, 'id')}`;
          if (!failures.has(key)) failures.set(key, `${label} ${show(call.mode, call.action, call.wire)}`);
        }
        if (answer && answer.status < 400) {
          const text = JSON.stringify(answer.body);
          for (const m of text.matchAll(ID_PATTERN)) {
            const list = m[1] === 'tms' ? w.sessions : m[1] === 'tmf' ? w.filters : w.rules;
            if (!secrets.includes(m[0])) remember(list, m[0]);
          }
          harvest(answer.body, w);
          const next = answer.body.NextToken;
          if (typeof next === 'string' && next !== '') remember(w.nextTokens, next);
        }
      }

      let previous: Call | undefined;
      for (let i = 0; i < REQUESTS; i++) {
        if (w.rng.chance(0.06)) await server.advance();
        if (previous && w.rng.chance(0.04)) {
          // The same request again: a ClientToken replay, or the second of two identical changes.
          await exchange(`#${i} [repeat]`, previous);
          continue;
        }
        const action = w.rng.pick(actions);
        const op = OPERATIONS.get(action);
        assert.ok(op);
        const mode = w.rng.pick(MODES);
        const wire: Wire = new Map();
        BUILDERS[action]?.(w, wire);
        const applied = mutate(w, wire, op.params, mode);
        previous = { mode, action, wire };
        await exchange(`#${i} [${applied.join('; ')}]`, previous);
      }
      // Each curated NextToken once on every List operation: the random draw reaches few of them.
      let sweep = 0;
      for (const action of ['ListTagResources', 'ListTrafficMirrorFilters', 'ListTrafficMirrorSessions']) {
        for (const token of ODD_TOKENS) {
          const wire: Wire = new Map();
          BUILDERS[action]?.(w, wire);
          wire.set('NextToken', token);
          await exchange(`sweep #${sweep}`, {
            mode: MODES[sweep % MODES.length] ?? 'pop-post',
            action,
            wire,
          });
          sweep += 1;
        }
      }

      const ok = [...codes].filter(([k]) => k.endsWith(' OK')).reduce((n, [, c]) => n + c, 0);
      const total = [...codes.values()].reduce((n, c) => n + c, 0);
      t.diagnostic(`${ok} of ${total} calls succeeded; ${codes.size} distinct action/code pairs`);
      // One line per operation, so that a run shows where the calls ended up.
      for (const action of actions) {
        const mine = [...codes]
          .filter(([k]) => k.startsWith(`${action} `))
          .sort((x, y) => y[1] - x[1])
          .map(([k, c]) => `${k.slice(action.length + 1)} ${c}`);
        t.diagnostic(`${action}: ${mine.join(', ')}`);
      }
      assert.deepEqual(
        [...failures].map(([problem, request]) => `${problem}\n    ${request}`),
        [],
        'answers that break an invariant (one example request each)',
      );
      // Proof that the calls reach the operations' work, not only their refusals. Which call
      // succeeds depends on the ids the server chose (lists ordered by id, ids drawn from earlier
      // answers), so a run may miss an operation now and then without anything being wrong:
      // nearly all operations, and a tenth of all calls, must succeed.
      const neverOk = actions.filter((a) => !codes.has(`${a} OK`));
      if (neverOk.length > 0) t.diagnostic(`never succeeded in this run: ${neverOk.join(', ')}`);
      assert.ok(
        neverOk.length <= actions.length / 10,
        `too many operations never succeeded: ${neverOk.join(', ')}`,
      );
      assert.ok(ok >= total / 10, `only ${ok} of ${total} calls succeeded`);
    });

    test('afterwards the server still answers, and account B is exactly as before', async () => {
      const regions = await callVia('pop-post', server, 'DescribeRegions', {});
      assert.ok(Array.isArray((regions.Regions as { Region?: unknown } | undefined)?.Region));
      // No transition is applied first: a B resource that A's calls left changing must show it.
      assert.deepEqual(await snapshotOfB(server, w.b), before0);
      const session = before0.session as Record<string, unknown>;
      assert.equal(session.TrafficMirrorSessionStatus, 'Created');
      assert.deepEqual(session.Tags, [w.b.tag, { Key: 'sentinel-b2', Value: 'y' }]);
    });

    // Found by this fuzz (seed 20160428, PostgreSQL): the position a ListTagResources NextToken
    // carries reaches SQL as text, and PostgreSQL refuses a NUL in text with an InternalError.
    test('ListTagResources refuses a NextToken whose position holds text no parameter may carry (a NUL, half a surrogate pair)', async () => {
      // Found by this fuzz: PostgreSQL refused the NUL inside the query and the call ended in a 500.
      for (const position of [
        '["tg1","","\\u0000"]',
        '["tg1","tms-x","\\ud800"]',
        '["tg1","tms-x\\u0000",""]',
      ]) {
        const answer = await send(
          clientsFor(server),
          'pop-post',
          'ListTagResources',
          new Map([
            ['RegionId', REGION],
            ['ResourceType', 'TRAFFICMIRRORSESSION'],
            ['ResourceId.1', 'tms-x'],
            ['NextToken', b64(position)],
          ]),
        );
        assert.deepEqual(checkAnswer('ListTagResources', answer, docs, []), [], position);
        assert.equal(answer.status, 400, position);
        assert.equal(answer.body.Code, 'IllegalParam.NextToken', position);
      }
    });
  });
}
