/**
 * A shutdown closes the store, and gives up the node's id, only after every request it accepted
 * has finished with the store, also one whose client went away while it ran: such a request no
 * longer holds a connection, so waiting for the connections alone let the store close under it.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { signRequest } from '../../src/cli/client.js';
import type { RpcRequest } from '../../src/protocol/request.js';
import { openStore } from '../../src/store/store.js';
import { startTestServer } from '../helpers/server.js';

/** A promise and what settles it: a step of the test the next one waits for. */
function signal(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve = (): void => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A few turns of the event loop: what is about to happen has happened after them. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

test('a shutdown waits for a request whose client left before it closes the store [sqlite]', async () => {
  const server = await startTestServer();
  // A second store of the same file in this process: while its transaction runs, the server's
  // statements wait for the file.
  const other = await openStore({ location: server.database.location });
  const released = signal();
  let closed = false;
  try {
    const holding = signal();
    const transaction = other.db.transaction().execute(async () => {
      holding.resolve();
      await released.promise;
    });
    await holding.promise;

    // Told when the request reaches the pipeline.
    const app = server.app as { handle: (req: RpcRequest) => ReturnType<typeof server.app.handle> };
    const handle = app.handle;
    const inPipeline = signal();
    app.handle = (req) => {
      inPipeline.resolve();
      return handle(req);
    };
    const signed = signRequest(
      { endpoint: server.endpoint, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
      'OpenTrafficMirrorService',
      {},
    );
    const call = request(`${server.url}${signed.path}`, { method: signed.method, headers: signed.headers });
    call.on('error', () => undefined);
    call.end(signed.body);
    await inPipeline.promise;
    // The client goes away; the request goes on, waiting for the file.
    call.destroy();
    // The listener's own close: the store closes after it (startServer, the test server).
    const first = server.http.close();
    assert.equal(server.http.close(), first, 'a second close waits with the first');
    const closing = first.then(() => {
      closed = true;
    });
    let open = -1;
    for (let i = 0; i < 1000 && open !== 0; i++) {
      await turns(1);
      open = await new Promise<number>((resolve) => server.http.server.getConnections((_e, n) => resolve(n)));
    }
    assert.equal(open, 0, 'the connection is gone');
    await turns(20);
    assert.equal(closed, false, 'the shutdown waits for the request');

    released.resolve();
    await transaction;
    await closing;
    // The request finished its work before the listener's close ended.
    const row = await other.db.selectFrom('service_status').select('enabled').executeTakeFirst();
    assert.deepEqual(row, { enabled: 1 });
  } finally {
    released.resolve();
    await server.close();
    await other.close();
  }
});
