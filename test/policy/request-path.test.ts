import test from 'ava';
import fc from 'fast-check';
import { ambiguity, flowerPath, judgedPath } from '../../src/policy/request-path.ts';

// Judged exactly as sent (query dropped): what Tornado routes, byte for byte.
const judged: [string, string][] = [
  ['/api/task/revoke/1', '/api/task/revoke/1'],
  ['/api/x?next=/../y//z', '/api/x'],
  ['/a/b/', '/a/b/'],
  ['/', '/'],
  ['/worker/celery%40host', '/worker/celery%40host'],
  ['/q%3fx', '/q%3fx'],
  ['/tasks;x=1', '/tasks;x=1'],
  ['/a/.x/x./..x/...', '/a/.x/x./..x/...'],
  ['/%C0%AE%C0%AE/api', '/%C0%AE%C0%AE/api'],
];
for (const [raw, expected] of judged) {
  test(`judges ${raw} as ${expected}, unchanged`, (t) => {
    t.is(judgedPath(raw), expected);
    t.is(ambiguity(raw), null);
  });
}

// Every spelling a hop could resolve, decode or merge differently from Tornado's raw routing.
const refused = [
  '/api/task/info/x/../../../../dashboard',
  '/flower/api/task/info/x/../../../../dashboard',
  '/./api/task/revoke/1',
  '/static/..',
  '/a/.',
  '/%2e/api',
  '/%2E/api',
  '/%2e%2e/api',
  '/.%2e/api',
  '/%2E./api',
  '/a/%2e%2E',
  '/%61pi/task/revoke/1',
  '/%7e',
  '//api/task/revoke/1',
  '/api///worker/shutdown/w',
  '/a//',
  '/api%2Ftask/revoke/1',
  '/api%2ftask',
  '/api\\task',
  '/api%5Ctask',
  '/api%5ctask',
  '/a%00b',
  '/a\u0000b',
  '/a\tb',
  '/a\u007fb',
  '/tasks#x',
  '/x/http:/evil',
  '/x/https:/evil',
  'api/x',
  '*',
  'http://evil.example/api',
  '/bad%zz',
  '/x%2',
  `/${'a'.repeat(8200)}`,
];
for (const raw of refused) {
  test(`refuses the ambiguous path ${JSON.stringify(raw.slice(0, 60))}`, (t) => {
    t.is(judgedPath(raw), null);
    t.not(ambiguity(raw), null);
  });
}

/** What the most normalising hop does to a path: decode unreserved escapes, merge slashes, resolve dots. */
function normalise(path: string): string {
  const decoded = path.replace(/%([0-9a-fA-F]{2})/g, (encoded, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : encoded;
  });
  const out: string[] = [];
  for (const segment of decoded.split('/').slice(1)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const trailing = /\/(\.{0,2})$/.test(decoded) && out.length > 0 ? '/' : '';
  return `/${out.join('/')}${trailing}`;
}

test('every path judged is one no normalising hop would change, so the proxy, the gate and Tornado see one path', (t) => {
  const segment = fc.constantFrom(
    '',
    '.',
    '..',
    'a',
    'tasks',
    '%2e',
    '%2E%2e',
    '.%2e',
    '%41',
    '%7e',
    '%20',
    '%40',
    '.x',
    'x.',
    '...',
  );
  const path = fc.array(segment, { minLength: 1, maxLength: 8 }).map((parts) => `/${parts.join('/')}`);
  t.notThrows(() =>
    fc.assert(
      fc.property(path, (raw) => {
        const seen = judgedPath(raw);
        if (seen === null) return;
        if (seen !== raw || normalise(raw) !== raw) throw new Error(`${raw} judged as ${seen}`);
      }),
      { numRuns: 3000 },
    ),
  );
});

test('a path with a dot segment in any spelling is refused wherever it sits', (t) => {
  const dot = fc.constantFrom('.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2E%2e');
  const plain = fc.stringMatching(/^[a-z0-9]{1,6}$/);
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(plain, { maxLength: 4 }), dot, fc.array(plain, { maxLength: 4 }), (a, d, b) => {
        const raw = `/${[...a, d, ...b].join('/')}`;
        if (judgedPath(raw) !== null) throw new Error(`${raw} was judged`);
      }),
    ),
  );
});

test("flowerPath removes Flower's URL prefix and refuses paths outside it", (t) => {
  t.is(flowerPath('/flower/api/workers', '/flower'), '/api/workers');
  t.is(flowerPath('/flower/', '/flower'), '/');
  t.is(flowerPath('/flower', '/flower'), '/');
  t.is(flowerPath('/flowerx/api', '/flower'), null);
  t.is(flowerPath('/api/workers', '/flower'), null);
  t.is(flowerPath('/', '/flower'), null);
  t.is(flowerPath('/a/b/tasks', '/a/b'), '/tasks');
  t.is(flowerPath('/api/workers', ''), '/api/workers');
});
