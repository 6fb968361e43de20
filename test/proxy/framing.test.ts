// Request framing through the sidecar, byte for byte on raw sockets: only `Transfer-Encoding: chunked` alone
// reaches Flower. A transfer-coding list Node's parser lets through (`gzip, chunked`: chunked is last, so it
// decodes the body) would otherwise be forwarded verbatim, and Tornado, which knows only `chunked`, would
// read the chunked bytes as the next request on the pooled connection. Lists the parser already refuses are
// checked too, so a change of parser cannot open the gap unnoticed.
import { createHash, randomUUID } from 'node:crypto';
import net from 'node:net';
import test from 'ava';
import { framingRefusal } from '../../src/proxy/framing.ts';
import { djangoTool, shared, startDjangoSite } from '../support/e2e.ts';
import { startFlowerUpstream } from '../support/flower-upstream.ts';
import { toolTest } from '../support/require-tool.ts';
import { PREFIX, startGate } from './harness.ts';

for (const [value, expected] of [
  [undefined, null],
  ['chunked', null],
  ['Chunked', null],
  [' chunked ', null],
  [', chunked', null], // empty list elements are ignored (RFC 9110 §5.6.1)
  ['gzip, chunked', 501],
  ['identity, chunked', 501],
  ['x-custom, chunked', 501],
  ['chunked, chunked', 400],
  ['chunked, gzip', 400],
  ['identity', 400],
  ['gzip', 400],
  ['', 400],
  [',', 400],
] as const) {
  test(`framingRefusal(Transfer-Encoding: ${JSON.stringify(value)}) is ${expected ?? 'accepted'}`, (t) => {
    const answer = framingRefusal(value === undefined ? {} : { 'transfer-encoding': value });
    t.is(answer?.status ?? null, expected);
    if (answer)
      t.is(answer.headers['Connection'], 'close', 'the body cannot be skipped: the connection ends');
  });
}

const maybe = await toolTest('tornado', djangoTool());

const env = shared(async (t) => {
  const [site, flower] = await Promise.all([
    startDjangoSite({ t }),
    startFlowerUpstream({ prefix: 'flower', t }),
  ]);
  const gate = await startGate({ site, upstream: flower, t });
  return { flower, gate, root: await site.cookie('root') };
});

/**
 * Writes `bytes` on a fresh connection and reads until the server closes it, or until `enough` says the
 * answer is in (a switched WebSocket stays open). The client never half-closes: Node would drop the request.
 */
function exchange(port: number, bytes: string, enough?: (data: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (enough?.(data)) socket.destroy();
    });
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

/** A chunked upload whose chunk carries a second request: what a desynchronised upstream would run. */
function upload(
  gate: { port: number; url: string },
  cookie: string,
  transferEncoding: string[],
  tag: string,
): string {
  const smuggled = `POST ${PREFIX}/api/task/revoke/smuggled-${tag} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`;
  return [
    `POST ${PREFIX}/upload?tag=${tag} HTTP/1.1`,
    `Host: 127.0.0.1:${gate.port}`,
    `Cookie: ${cookie}`,
    `Origin: ${gate.url}`,
    ...transferEncoding.map((value) => `Transfer-Encoding: ${value}`),
    'Connection: close',
    '',
    `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
  ].join('\r\n');
}

maybe(
  'a transfer-coding list other than chunked alone is refused before the decision and never reaches Flower; chunked alone is streamed through',
  async (t) => {
    const { flower, gate, root } = await env();
    const refused: Array<[string[], number]> = [
      // Node's parser lets these through (chunked is last): our code must refuse them.
      [['gzip, chunked'], 501],
      [['identity, chunked'], 501],
      [['x-custom, chunked'], 501],
      [['gzip', 'chunked'], 501], // two field lines are one list
      // Node's parser refuses these itself (chunked twice, or not last).
      [['chunked, chunked'], 400],
      [['chunked, gzip'], 400],
      [['identity'], 400],
    ];
    const tags: string[] = [];
    for (const [codings, status] of refused) {
      const tag = randomUUID();
      tags.push(tag);
      const response = await exchange(gate.port, upload(gate, root, codings, tag));
      t.is(statusOf(response), status, codings.join(' + '));
      t.regex(response, /\r\nConnection: close\r\n/i, 'the connection is not reused');
    }
    const seen = await flower.requests();
    for (const tag of tags)
      t.false(
        seen.some((r) => r.uri.includes(tag)),
        'neither the upload nor the request inside it reached Flower',
      );

    // The honest twin: the same upload framed as chunked alone arrives whole, as one request, re-chunked.
    const tag = randomUUID();
    const response = await exchange(gate.port, upload(gate, root, ['chunked'], tag));
    t.is(statusOf(response), 200);
    const body = JSON.parse(response.slice(response.indexOf('{'), response.lastIndexOf('}') + 1)) as {
      bytes: number;
      sha256: string;
      transferEncoding: string;
    };
    const smuggled = `POST ${PREFIX}/api/task/revoke/smuggled-${tag} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`;
    t.like(body, {
      bytes: smuggled.length,
      sha256: createHash('sha256').update(smuggled).digest('hex'),
      transferEncoding: 'chunked',
    });
    const arrived = (await flower.requests()).filter((r) => r.uri.includes(tag));
    t.deepEqual(
      arrived.map((r) => r.path),
      [`${PREFIX}/upload`],
      'one request, and nothing read from its body as another',
    );
  },
);

maybe('a WebSocket handshake that declares a body is refused, and never reaches Flower', async (t) => {
  const { flower, gate, root } = await env();
  const tag = randomUUID();
  const handshake = (extra: string[]) =>
    [
      `GET ${PREFIX}/ws/echo?tag=${tag} HTTP/1.1`,
      `Host: 127.0.0.1:${gate.port}`,
      `Cookie: ${root}`,
      `Origin: ${gate.url}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ...extra,
      '',
      '',
    ].join('\r\n');
  const chunked = await exchange(gate.port, `${handshake(['Transfer-Encoding: chunked'])}0\r\n\r\n`);
  t.is(statusOf(chunked), 400);
  const sized = await exchange(gate.port, `${handshake(['Content-Length: 5'])}hello`);
  t.is(statusOf(sized), 400);
  t.false((await flower.requests()).some((r) => r.uri.includes(tag)));
  // The honest twin: the same handshake without a body is switched.
  const honest = await exchange(gate.port, handshake([]), (data) => data.includes('\r\n\r\n'));
  t.is(statusOf(honest), 101);
});
