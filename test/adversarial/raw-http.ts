// HTTP/1.1 written byte for byte on a TCP socket, for what node:http will not send as given (a WebSocket
// handshake it would hand to an 'upgrade' listener, `Transfer-Encoding: gzip, chunked`).

import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-cased header names; repeated ones joined with ', '. */
  headers: Record<string, string>;
  /** What followed the head before the socket closed or `settleMs` passed. */
  body: string;
  /** Still open (a 101, a keep-alive connection): the caller closes it. */
  socket: net.Socket;
}

/**
 * Sends `head` (CRLF line ends, no final blank line) and `body` to `url`'s host and port, and reads the
 * answer: the head, then the body until the socket closes, Content-Length is reached, or, for a 101 or a body
 * without a length, `settleMs` pass.
 */
export function rawRequest(
  url: string,
  head: string[],
  body = '',
  options: { settleMs?: number; halfOpen?: boolean } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const settleMs = options.settleMs ?? 300;
  return new Promise((resolve, reject) => {
    // halfOpen: keep our side open after the server's FIN, as a client that never closes would
    const socket = net.connect({
      port: Number(port),
      host: hostname,
      allowHalfOpen: options.halfOpen ?? false,
    });
    let data = Buffer.alloc(0);
    let done = false;
    const timeout = setTimeout(() => fail(new Error(`no answer to ${head[0]} within 15 s`)), 15_000);
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      socket.destroy();
      reject(error);
    };
    const finish = () => {
      if (done) return;
      const parsed = parse(data);
      if (!parsed) return fail(new Error(`not an HTTP response: ${data.toString('latin1').slice(0, 200)}`));
      done = true;
      clearTimeout(timeout);
      resolve({ ...parsed, socket });
    };
    let settle: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parse(data);
      if (!parsed) return;
      const length = Number(parsed.headers['content-length'] ?? Number.NaN);
      if (Buffer.byteLength(parsed.body, 'latin1') >= length) return finish();
      clearTimeout(settle);
      settle = setTimeout(finish, settleMs);
    });
    socket.on('close', finish);
    socket.on('error', (error) => (data.length > 0 ? finish() : fail(error)));
    socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
}

function parse(data: Buffer): Omit<RawResponse, 'socket'> | null {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status, headers, body: text.slice(end + 4) };
}

/** The head of a WebSocket handshake for `path` on `url`'s host. */
export function websocketHandshake(url: string, path: string, extra: Record<string, string> = {}): string[] {
  const { host } = new URL(url);
  return [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
  ];
}
