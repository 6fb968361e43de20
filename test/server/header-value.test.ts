// Identity header values on the wire: UTF-8 bytes through Node's own HTTP client and server, control
// characters never.
import http, { validateHeaderValue } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import {
  encodeHeaders,
  encodeHeaderValue,
  isEncodedHeaderValue,
  unsendable,
} from '../../src/server/header-value.ts';

/** What a WSGI upstream does with a header it received (PEP 3333): latin-1 string back to bytes, then UTF-8. */
const asWsgiReadsIt = (received: string) => Buffer.from(received, 'latin1').toString('utf8');

test('printable ASCII is sent unchanged', (t) => {
  for (const value of ['root', 'root@example.com', 'flower-admins,ops', 'a b']) {
    t.is(encodeHeaderValue(value), value);
  }
});

test('a Unicode username goes on the wire as its UTF-8 bytes through a real Node client and server', async (t) => {
  const name = 'jürgen-用户';
  const wire = encodeHeaderValue(name);
  t.is(wire, Buffer.from(name, 'utf8').toString('latin1'));
  const server = http.createServer((req, res) => {
    res.setHeader('x-echo', req.headers['x-auth-request-user'] ?? '');
    // a Buffer: Node writes headers and a first *string* chunk together as UTF-8 (see header-value.ts)
    res.end(Buffer.from(JSON.stringify(req.rawHeaders)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, headers: { 'X-Auth-Request-User': wire as string }, agent: false },
      (res) => {
        t.is(asWsgiReadsIt(String(res.headers['x-echo'])), name, 'the response header came back the same');
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const headers = JSON.parse(raw.toString('utf8')) as string[];
  const received = headers[headers.indexOf('X-Auth-Request-User') + 1] as string;
  t.deepEqual(Buffer.from(received, 'latin1'), Buffer.from(name, 'utf8'), 'the bytes are UTF-8');
});

for (const [label, value] of [
  ['CR LF (a second header)', 'root\r\nX-Injected: 1'],
  ['a bare LF', 'root\nx'],
  ['NUL', 'root\x00admin'],
  ['TAB', 'root\tadmin'],
  ['unit separator U+001F', 'a\x1fb'],
  ['DEL', 'root\x7f'],
  ['a trailing space (a receiver would read "root")', 'root '],
  ['a leading space', ' root'],
  ['a lone surrogate', 'ro\ud800ot'],
] as const) {
  test(`a value with ${label} is never sent`, (t) => {
    t.is(encodeHeaderValue(value), null);
    t.truthy(unsendable(value));
  });
}

test('C1 controls and Unicode spaces are only bytes on the wire, so they are sent (as UTF-8)', (t) => {
  t.is(encodeHeaderValue('a\u0085b'), 'a\xc2\x85b');
  t.is(encodeHeaderValue('用户\u3000'), Buffer.from('用户\u3000', 'utf8').toString('latin1'));
});

test('any string is either refused or sent as bytes Node accepts and a UTF-8 reader gets back exactly', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        const wire = encodeHeaderValue(value);
        if (wire === null) return unsendable(value) !== null;
        validateHeaderValue('x-auth-request-user', wire); // throws ERR_INVALID_CHAR on anything Node refuses
        return isEncodedHeaderValue(wire) && asWsgiReadsIt(wire) === value && unsendable(value) === null;
      }),
      { numRuns: 2000 },
    ),
  );
});

test('isEncodedHeaderValue refuses what Node or a receiver would mangle', (t) => {
  t.true(isEncodedHeaderValue(''));
  t.true(isEncodedHeaderValue('j\xc3\xbcrgen'));
  t.false(isEncodedHeaderValue('用户'), 'not encoded: characters above U+00FF');
  t.false(isEncodedHeaderValue('a\r\nb'));
  t.false(isEncodedHeaderValue('a '));
});

test.serial(
  'encodeHeaders leaves out a value it cannot send and warns once, naming the header, not the value',
  async (t) => {
    const warnings: Error[] = [];
    const listen = (w: Error) => warnings.push(w);
    process.on('warning', listen);
    t.teardown(() => process.off('warning', listen));
    const headers = { 'X-Auth-Request-User': 'evil\r\nX-Admin: 1', 'X-Auth-Request-Email': 'ü@example.com' };
    const first = encodeHeaders(headers, 'Django user "evil" (id 9)');
    const again = encodeHeaders(headers, 'Django user "evil" (id 9)');
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    t.deepEqual(first, { 'X-Auth-Request-Email': '\xc3\xbc@example.com' });
    t.deepEqual(again, first);
    const ours = warnings.filter((w) => (w as { code?: string }).code === 'FLOWERGATE_HEADER_NOT_SENT');
    t.is(ours.length, 1);
    t.is(
      ours[0]?.message,
      'X-Auth-Request-User not sent upstream for Django user "evil" (id 9): it has a control character (U+000D)',
    );
    t.notRegex(ours[0]?.message ?? '', /X-Admin/);
  },
);
