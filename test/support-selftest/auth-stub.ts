// A tiny forward-auth service for the self-tests, decided by the `sessionid` cookie:
//   super   -> 200 + X-Auth-Request-User/-Email/-Groups
//   partial -> 200 + X-Auth-Request-User only
//   staff   -> 403
//   other / none -> 401 + WWW-Authenticate
// It records every request and counts TCP connections (to see keep-alive).
// Allow replies carry `Content-Length: 0`: nginx reuses an auth_request connection only when the reply has
// no body (it never reads one: the subrequest is header-only), and Node would otherwise send an empty chunked
// body.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AuthSeen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

export interface AuthStub {
  origin: string;
  port: number;
  seen: AuthSeen[];
  connections(): number;
  stop(): Promise<void>;
}

export async function startAuthStub(): Promise<AuthStub> {
  const seen: AuthSeen[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      const session = /(?:^|;\s*)sessionid=([^;]*)/.exec(req.headers.cookie ?? '')?.[1];
      if (session === 'super') {
        res.writeHead(200, {
          'X-Auth-Request-User': 'alice',
          'X-Auth-Request-Email': 'alice@example.com',
          'X-Auth-Request-Groups': 'superusers',
          'Content-Length': '0',
        });
        res.end();
      } else if (session === 'partial') {
        res.writeHead(200, { 'X-Auth-Request-User': 'bob', 'Content-Length': '0' });
        res.end();
      } else if (session === 'staff') {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('forbidden by stub\n');
      } else {
        res.writeHead(401, { 'WWW-Authenticate': 'Cookie realm="django"', 'Content-Type': 'text/plain' });
        res.end('unauthorized by stub\n');
      }
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
