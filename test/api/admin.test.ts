import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { callVia } from '../helpers/clients.js';
import { startTestServer, type TestServer, testStores } from '../helpers/server.js';

async function admin(
  server: TestServer,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  const r = await fetch(`${server.url}/_vpcmirror/${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** An admin request as node:http sends it, with a Host header of our choosing (fetch sets its own). */
function raw(server: TestServer, method: string, path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port: server.port, method, path: `/_vpcmirror/${path}`, headers },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    r.on('error', reject);
    r.end();
  });
}

/** The routes that need loopback or the token (health needs neither). */
const GUARDED = [
  ['POST', 'reset'],
  ['GET', 'transitions'],
  ['POST', 'transitions/advance'],
] as const;

describe('admin endpoints on loopback', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ flags: { transitions: 'default=1s' } });
  });
  after(() => server.close());

  test('health answers ok with the store kind', async () => {
    assert.deepEqual(await admin(server, 'GET', 'health'), {
      status: 200,
      body: { status: 'ok', store: 'sqlite' },
    });
  });

  test('timing can be changed and read back, PUT replaces and POST merges', async () => {
    let r = await admin(
      server,
      'POST',
      'transitions/timing',
      JSON.stringify({ 'session.delete': 'manual', default: '250ms' }),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.timing, { default: 250, 'session.delete': 'manual' });
    r = await admin(server, 'PUT', 'transitions/timing', JSON.stringify({ default: '0' }));
    assert.deepEqual(r.body.timing, { default: 0 });
    r = await admin(server, 'GET', 'transitions');
    assert.deepEqual(r.body, { timing: { default: 0 }, pending: [] });
    // Replaced without a default, the delays read back show the one that then applies.
    r = await admin(server, 'PUT', 'transitions/timing', JSON.stringify({ 'session.delete': 'manual' }));
    assert.deepEqual(r.body.timing, { default: 1000, 'session.delete': 'manual' });
  });

  test('a timing that now times an action gives its transitions waiting for an advance a due time, and says how many', async () => {
    let r = await admin(server, 'PUT', 'transitions/timing', JSON.stringify({ default: 'manual' }));
    assert.equal(r.body.rescheduled, 0);
    const filter = await callVia('vpc-v3', server, 'CreateTrafficMirrorFilter', { RegionId: 'cn-hangzhou' });
    r = await admin(server, 'GET', 'transitions');
    assert.deepEqual(
      (r.body.pending as Array<Record<string, unknown>>).map((p) => [p.resourceId, p.dueAt]),
      [[filter.TrafficMirrorFilterId, null]],
    );
    r = await admin(server, 'PUT', 'transitions/timing', JSON.stringify({ default: '0' }));
    assert.equal(r.body.rescheduled, 1);
    r = await admin(server, 'GET', 'transitions');
    // Due now: the worker may have applied it already.
    const waiting = (r.body.pending as Array<Record<string, unknown>>).filter((p) => p.dueAt === null);
    assert.deepEqual(waiting, []);
    await admin(server, 'POST', 'transitions/advance');
  });

  test('a bad timing is refused with 400 and says why', async () => {
    const r = await admin(server, 'POST', 'transitions/timing', JSON.stringify({ 'session.explode': '1s' }));
    assert.equal(r.status, 400);
    assert.match(String(r.body.error), /unknown transition key "session.explode"/);
    const bad = await admin(server, 'POST', 'transitions/timing', '{not json');
    assert.equal(bad.status, 400);
  });

  test('advance with nothing pending applies nothing; reset answers; unknown routes are 404', async () => {
    assert.deepEqual(await admin(server, 'POST', 'transitions/advance'), {
      status: 200,
      body: { applied: 0 },
    });
    assert.deepEqual(await admin(server, 'POST', 'reset'), { status: 200, body: { reset: true } });
    assert.equal((await admin(server, 'GET', 'nope')).status, 404);
    // A known path with the wrong method says which method it takes.
    assert.deepEqual(await admin(server, 'GET', 'reset'), {
      status: 405,
      body: { error: '/reset takes POST, not GET' },
    });
    const head = await fetch(`http://${server.endpoint}/_vpcmirror/health`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const wrong = await fetch(`http://${server.endpoint}/_vpcmirror/transitions/timing`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST, PUT');
    const bogus = await admin(server, 'POST', 'transitions/advance?resourceType=bogus');
    assert.equal(bogus.status, 400);
    assert.match(String(bogus.body.error), /session, filter or rule/);
  });
});

describe('admin endpoints and web browsers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ flags: { transitions: 'manual' } });
  });
  after(() => server.close());

  test('without a token, what a web page makes a browser send is refused: an Origin, a cross-site fetch, a Host that is no loopback name (DNS rebinding); local tools and a typed address are served', async () => {
    for (const [headers, why] of [
      [{ origin: 'http://evil.example' }, /Origin/],
      [{ 'sec-fetch-site': 'cross-site' }, /Sec-Fetch-Site: cross-site/],
      [{ 'sec-fetch-site': 'same-site' }, /Sec-Fetch-Site: same-site/],
      [{ host: 'rebound.example:8787' }, /rebound\.example/],
      [{ host: '127.rebound.example' }, /127\.rebound\.example/],
    ] as const) {
      for (const [method, path] of GUARDED) {
        const r = await raw(server, method, path, headers);
        assert.equal(r.status, 403, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.match(String(r.body.error), why);
        assert.match(String(r.body.error), /--admin-token/);
      }
    }
    for (const headers of [
      {},
      { host: 'localhost:8787' },
      { host: `[::1]:${server.port}` },
      { host: '127.0.0.2' },
      { 'sec-fetch-site': 'none' },
    ]) {
      assert.equal((await raw(server, 'GET', 'transitions', headers)).status, 200, JSON.stringify(headers));
    }
    // Health says nothing of anyone's resources: a browser may read it.
    assert.equal((await raw(server, 'GET', 'health', { origin: 'http://evil.example' })).status, 200);
  });

  test('with a token, the token decides, whatever the browser headers', async () => {
    const guarded = await startTestServer({ flags: { 'admin-token': 't0ken' } });
    try {
      const r = await raw(guarded, 'GET', 'transitions', {
        'x-vpcmirror-admin-token': 't0ken',
        origin: 'http://tool.example',
        'sec-fetch-site': 'cross-site',
        host: 'admin.example:8787',
      });
      assert.equal(r.status, 200);
    } finally {
      await guarded.close();
    }
  });
});

describe('admin endpoints of a server listening beyond loopback', () => {
  // The test server binds loopback whatever the host says; the admin routes go by the configured host.
  test('are off without a token, even for a loopback caller (a local proxy would make every caller one); health stays open', async () => {
    const server = await startTestServer({ flags: { host: '0.0.0.0' } });
    try {
      for (const [method, path] of GUARDED) {
        const refused = await admin(server, method, path);
        assert.equal(refused.status, 403, path);
        assert.match(String(refused.body.error), /off on a server listening on 0\.0\.0\.0.*--admin-token/);
      }
      assert.equal((await admin(server, 'GET', 'health')).status, 200);
    } finally {
      await server.close();
    }
    const withToken = await startTestServer({ flags: { host: '0.0.0.0', 'admin-token': 'tok-9' } });
    try {
      const r = await admin(withToken, 'GET', 'transitions', undefined, {
        'x-vpcmirror-admin-token': 'tok-9',
      });
      assert.equal(r.status, 200);
    } finally {
      await withToken.close();
    }
  });
});

describe('admin endpoints with an admin token', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ flags: { 'admin-token': 'tok-123' } });
  });
  after(() => server.close());

  test('without the token even a loopback caller is refused with 403, told which header to send; health stays open', async () => {
    const refused = await admin(server, 'POST', 'reset');
    assert.equal(refused.status, 403);
    assert.match(String(refused.body.error), /x-vpcmirror-admin-token/);
    assert.equal(
      (await admin(server, 'GET', 'transitions', undefined, { 'x-vpcmirror-admin-token': 'wrong' })).status,
      403,
    );
    assert.equal((await admin(server, 'GET', 'health')).status, 200);
  });

  test('with the token the caller is served', async () => {
    const r = await admin(server, 'GET', 'transitions', undefined, { 'x-vpcmirror-admin-token': 'tok-123' });
    assert.equal(r.status, 200);
  });
});

for (const store of testStores()) {
  describe(`admin advance with odd filters [${store}]`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ store, flags: { transitions: 'manual' } });
    });
    after(() => server.close());

    test('a NUL in resourceId or resourceType is refused with 400; an unknown id applies nothing', async () => {
      for (const query of ['resourceId=%00', 'resourceType=session%00', 'resourceId=tms-x%00y']) {
        const r = await admin(server, 'POST', `transitions/advance?${query}`);
        assert.equal(r.status, 400, query);
        assert.match(String(r.body.error), /NUL/);
      }
      assert.deepEqual(await admin(server, 'POST', 'transitions/advance?resourceId=tms-unknown'), {
        status: 200,
        body: { applied: 0 },
      });
    });
  });
}
