/**
 * The floor: about the least one node:http process can do to answer a signed List by id, or a
 * signed durable Create, reading and writing SQLite through better-sqlite3. It shares nothing with
 * vpcmirror's code, so that what it costs is the work itself and not the way vpcmirror is built:
 *
 * - every request: the query parsed, the ACS3-HMAC-SHA256 signature computed and compared (the
 *   headers vpcmirror requires signed must be), the key looked up, the date checked, the nonce
 *   recorded once the signature holds;
 * - ListTrafficMirrorSessions: the session row, its sources and its tags read by prepared
 *   statements in one read transaction from the store the benchmark seeded (opened read-only), and
 *   the answer built;
 * - CreateTrafficMirrorSession: one row inserted into a table of a scratch file, in a transaction
 *   shared by the requests of one turn of the event loop (WAL, synchronous=NORMAL, as vpcmirror's
 *   store; no checkpoint while it runs), answered after its commit.
 *
 * It leaves out what vpcmirror must do besides: RAM policies, validation, the quota and filter
 * checks, the transitions, the access log. A repeated nonce is recorded but not refused, so that
 * wrk may send one request again and again, as for the ceiling; the set of nonces then stays at one.
 * A server built otherwise (sessions kept in memory, several processes) is not bounded by it.
 *
 * Environment: FLOOR_STORE (the seeded SQLite file), FLOOR_SCRATCH (a file for the Creates),
 * FLOOR_KEY (JSON: accessKeyId, accessKeySecret, accountId).
 */
import { createHmac, hash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import Database from 'better-sqlite3';

const key = JSON.parse(process.env.FLOOR_KEY ?? '{}');
const store = new Database(process.env.FLOOR_STORE, { readonly: true, fileMustExist: true });
const scratch = new Database(process.env.FLOOR_SCRATCH);
scratch.pragma('journal_mode = WAL');
scratch.pragma('synchronous = NORMAL');
// A checkpoint inside a commit would stall the event loop; vpcmirror runs its own on another thread.
scratch.pragma('wal_autocheckpoint = 0');
scratch.exec(
  'create table if not exists floor_sessions (id text primary key, account_id text not null, region_id text not null, target_id text not null, filter_id text not null, source_id text not null, priority integer not null, created_at integer not null) without rowid',
);

const beginRead = store.prepare('begin');
const commitRead = store.prepare('commit');
const sessionRow = store
  .prepare(
    'select id, name, description, target_id, target_type, filter_id, virtual_network_id, priority, packet_length, enabled, status, business_status, resource_group_id, created_at from traffic_mirror_sessions where id = ? and account_id = ? and region_id = ?',
  )
  .raw();
const sourceRows = store
  .prepare('select source_id from traffic_mirror_session_sources where session_id = ? order by position')
  .raw();
const tagRows = store
  .prepare('select tag_key, tag_value from tags where resource_id = ? order by tag_key')
  .raw();
const insertSession = scratch.prepare(
  'insert into floor_sessions (id, account_id, region_id, target_id, filter_id, source_id, priority, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
);

const REQUIRED_SIGNED = [
  'host',
  'x-acs-action',
  'x-acs-version',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-content-sha256',
];
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const AUTHORIZATION = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_SKEW_MS = 15 * 60 * 1000;
const RFC3986_EXTRA = /[!'()*]/g;
const pct = (s) =>
  encodeURIComponent(s).replace(RFC3986_EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const byName = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
const nonces = new Set();

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function refuse(res, status, code) {
  reply(res, status, { RequestId: randomUUID().toUpperCase(), Code: code, Message: code });
}

/** The query's pairs, or undefined when an escape is broken. */
function queryOf(url) {
  const at = url.indexOf('?');
  const pairs = [];
  if (at < 0) return pairs;
  try {
    for (const part of url.slice(at + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      pairs.push(
        eq < 0
          ? [decodeURIComponent(part), '']
          : [decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))],
      );
    }
  } catch {
    return undefined;
  }
  return pairs;
}

/** The signer's account when the request is signed by the key, or the refusal's code. */
function verify(req, pairs) {
  const h = req.headers;
  const auth = AUTHORIZATION.exec(h.authorization ?? '');
  if (!auth) return { code: 'IncompleteSignature' };
  if (auth[1] !== key.accessKeyId) return { code: 'InvalidAccessKeyId.NotFound' };
  const names = auth[2].split(';');
  for (const name of REQUIRED_SIGNED) if (!names.includes(name)) return { code: 'IncompleteSignature' };
  const stamp = h['x-acs-date'] ?? '';
  if (!TIMESTAMP.test(stamp) || !(Math.abs(Date.now() - Date.parse(stamp)) <= MAX_SKEW_MS))
    return { code: 'InvalidTimeStamp.Expired' };
  const nonce = h['x-acs-signature-nonce'];
  if (nonce === undefined || nonce === '') return { code: 'IncompleteSignature' };
  if (h['x-acs-content-sha256'] !== EMPTY_SHA256) return { code: 'SignatureDoesNotMatch' };
  let headers = '';
  for (const name of names) headers += `${name}:${String(h[name] ?? '').trim()}\n`;
  const query = pairs
    .sort(byName)
    .map(([k, v]) => `${pct(k)}=${pct(v)}`)
    .join('&');
  const canonical = `${req.method}\n/\n${query}\n${headers}\n${auth[2]}\n${EMPTY_SHA256}`;
  const expected = createHmac('sha256', key.accessKeySecret)
    .update(`ACS3-HMAC-SHA256\n${hash('sha256', canonical, 'hex')}`)
    .digest('hex');
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(auth[3]))) return { code: 'SignatureDoesNotMatch' };
  nonces.add(nonce);
  return { accountId: key.accountId };
}

function list(res, accountId, params) {
  // One read transaction for the three statements: cheaper than one each, and a consistent view.
  beginRead.run();
  let sessions;
  try {
    sessions = read(accountId, params);
  } finally {
    commitRead.run();
  }
  reply(res, 200, {
    RequestId: randomUUID().toUpperCase(),
    TotalCount: String(sessions.length),
    MaxResults: '20',
    NextToken: '',
    TrafficMirrorSessions: sessions,
  });
}

function read(accountId, params) {
  const id = params.get('TrafficMirrorSessionIds.1') ?? '';
  const row = sessionRow.get(id, accountId, params.get('RegionId') ?? '');
  const sessions = [];
  if (row)
    sessions.push({
      TrafficMirrorSessionId: row[0],
      TrafficMirrorSessionName: row[1],
      TrafficMirrorSessionDescription: row[2],
      TrafficMirrorTargetId: row[3],
      TrafficMirrorTargetType: row[4],
      TrafficMirrorFilterId: row[5],
      VirtualNetworkId: row[6],
      Priority: row[7],
      PacketLength: row[8],
      Enabled: row[9] === 1,
      TrafficMirrorSessionStatus: row[10],
      TrafficMirrorSessionBusinessStatus: row[11],
      ResourceGroupId: row[12],
      CreatedTime: new Date(row[13]).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      TrafficMirrorSourceIds: sourceRows.all(id).map((r) => r[0]),
      Tags: tagRows.all(id).map((r) => ({ Key: r[0], Value: r[1] })),
    });
  return sessions;
}

/** Answers waiting for the commit of the transaction their rows are in. */
let waiting = [];

function create(res, accountId, params) {
  const id = `tms-${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  if (!scratch.inTransaction) {
    scratch.exec('begin');
    setImmediate(() => {
      scratch.exec('commit');
      const answers = waiting;
      waiting = [];
      for (const answer of answers) answer();
    });
  }
  insertSession.run(
    id,
    accountId,
    params.get('RegionId') ?? '',
    params.get('TrafficMirrorTargetId') ?? '',
    params.get('TrafficMirrorFilterId') ?? '',
    params.get('TrafficMirrorSourceIds.1') ?? '',
    Number(params.get('Priority') ?? '1'),
    Date.now(),
  );
  waiting.push(() =>
    reply(res, 200, {
      RequestId: randomUUID().toUpperCase(),
      TrafficMirrorSessionId: id,
      ResourceGroupId: 'rg-acfmxazb4ph6aiy',
    }),
  );
}

function answer(req, res) {
  const pairs = queryOf(req.url ?? '/');
  if (!pairs) return refuse(res, 400, 'InvalidParameter');
  const params = new Map(pairs);
  const signer = verify(req, pairs);
  if (signer.code) return refuse(res, signer.code === 'InvalidAccessKeyId.NotFound' ? 404 : 400, signer.code);
  const action = req.headers['x-acs-action'];
  if (action === 'ListTrafficMirrorSessions') return list(res, signer.accountId, params);
  if (action === 'CreateTrafficMirrorSession') return create(res, signer.accountId, params);
  return refuse(res, 400, 'InvalidAction.NotFound');
}

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  // Read the request to its end, as the ceiling does, then answer.
  req.resume();
  req.on('end', () => answer(req, res));
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ msg: 'floor listening', endpoint: `127.0.0.1:${addr.port}` })}\n`);
});

process.on('SIGTERM', () => {
  server.close(() => {
    if (scratch.inTransaction) scratch.exec('commit');
    store.close();
    scratch.close();
    process.exit(0);
  });
  server.closeAllConnections();
});
