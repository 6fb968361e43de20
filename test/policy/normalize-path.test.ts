import test from 'ava';
import fc from 'fast-check';
import { normalizePath } from '../../src/policy/normalize-path.ts';

// Each of these must reach the rule for /api/… so that a tricky spelling cannot slip past it.
const canonical: [string, string][] = [
  ['/api/task/revoke/1', '/api/task/revoke/1'],
  ['//api/task/revoke/1', '/api/task/revoke/1'],
  ['/./api/task/revoke/1', '/api/task/revoke/1'],
  ['/static/../api/task/revoke/1', '/api/task/revoke/1'],
  ['/%2e/api/task/revoke/1', '/api/task/revoke/1'],
  ['/%2E%2E/api/task/revoke/1', '/api/task/revoke/1'],
  ['/%61pi/task/revoke/1', '/api/task/revoke/1'],
  ['/api///worker/shutdown/w', '/api/worker/shutdown/w'],
  ['/../../api/x', '/api/x'],
  ['/api/x?next=/../y', '/api/x'],
  ['/a/b/', '/a/b/'],
  ['/a/b/.', '/a/b/'],
  ['/', '/'],
  ['/worker/celery%40host', '/worker/celery%40host'],
  ['/q%3fx', '/q%3Fx'],
];
for (const [raw, expected] of canonical) {
  test(`normalises ${raw} to ${expected}`, (t) => {
    t.deepEqual(normalizePath(raw), { ok: true, path: expected });
  });
}

const refused = [
  '/api%2Ftask/revoke/1',
  '/api%2ftask',
  '/api\\task',
  '/api%5Ctask',
  '/a%00b',
  '/a\u0000b',
  'api/x',
  '/bad%zz',
  '/x%2',
];
for (const raw of refused) {
  test(`refuses the ambiguous path ${JSON.stringify(raw)}`, (t) => {
    t.false(normalizePath(raw).ok);
  });
}

test('a canonical path is its own canonical form (the shortcut for clean paths agrees with the full walk)', (t) => {
  const segment = fc.constantFrom(
    '',
    '.',
    '..',
    'a',
    'tasks',
    '%2e',
    '%2E%2e',
    '%41',
    '%7e',
    '%20',
    '.x',
    'x.',
  );
  const path = fc.array(segment, { maxLength: 8 }).map((parts) => `/${parts.join('/')}`);
  t.notThrows(() =>
    fc.assert(
      fc.property(path, (raw) => {
        const once = normalizePath(raw);
        if (!once.ok) return;
        const twice = normalizePath(once.path);
        if (!twice.ok || twice.path !== once.path)
          throw new Error(`${raw} → ${once.path} → ${JSON.stringify(twice)}`);
      }),
      { numRuns: 2000 },
    ),
  );
});
