// The sidecar row's baseline: a minimal node:http reverse proxy that pipes each request to the upstream
// over a keep-alive pool and pipes the answer back. No auth, no header rewriting beyond hop-by-hop.
//
//   node bench/servers/pipe-proxy.ts PORT UPSTREAM_URL

import { Agent, createServer, request } from 'node:http';
import { flushCompileCache } from 'node:module';

const port = Number(process.argv[2]);
const upstream = new URL(process.argv[3] ?? '');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

const server = createServer((req, res) => {
  const { connection: _c, 'keep-alive': _k, ...headers } = req.headers;
  const outgoing = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  outgoing.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(outgoing);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  flushCompileCache(); // the bench's warm compile cache, as flowergate's (bench/run.ts)
  process.stdout.write(`listening on ${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
