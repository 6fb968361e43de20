import test from 'ava';
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
