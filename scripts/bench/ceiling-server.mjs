/**
 * The ceiling: a bare node:http server answering every request with one fixed JSON body, the same
 * size as a small API answer. Whatever the generator reaches against it is the most this machine
 * and this generator can show; the real server's numbers are read as a fraction of it. Plain
 * JavaScript, run without a loader, so that its memory is node:http's alone.
 */
import { createServer } from 'node:http';

const BODY = JSON.stringify({
  RequestId: '5F4C1A1E-0C3B-4A8D-9E1F-2B7C6D5E4F3A',
  TrafficMirrorSessionId: 'tms-j6cla50buc44ap8tu0000',
  ResourceGroupId: 'rg-acfmxazb4ph6aiy',
});

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  // Read the request to its end, as a real handler must, then answer.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, {
      'content-type': 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(BODY),
    });
    res.end(BODY);
  });
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(
    `${JSON.stringify({ msg: 'ceiling listening', endpoint: `127.0.0.1:${addr.port}` })}\n`,
  );
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
