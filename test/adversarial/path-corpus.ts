// The hostile request paths: every spelling a client may try to have a read path judged while Flower (Tornado,
// which routes on the raw path) runs an action. One place to add the next one: a family and its templates.
// `P` in a template is the URL prefix ('' or '/flower'); every path here is printable ASCII without spaces, so
// it can travel as a request-target and in a header value (NUL and overlong UTF-8 appear percent-encoded).

import fc from 'fast-check';

export interface CorpusPath {
  /** What trick it is: shown in failure messages. */
  family: string;
  /** Path and query as the client sends it. */
  uri: string;
}

/** `..` and `.` in every spelling: raw, percent-encoded in either case, half-encoded. */
const DOTDOT = ['..', '%2e%2e', '%2E%2E', '%2e%2E', '%2e.', '%2E.', '.%2e', '.%2E'];
const DOT = ['.', '%2e', '%2E'];
/** Overlong UTF-8 for `.` and `/` (invalid UTF-8 that naive decoders turn into them). */
const OVERLONG_DOT = ['%c0%ae', '%C0%AE', '%e0%80%ae', '%c0%2e'];
const OVERLONG_SLASH = ['%c0%af', '%C0%AF', '%e0%80%af'];

/** From an acting route back up to a read route: four segments up from `/api/task/revoke/x`. */
const up = (dots: string, sep = '/') => `${dots}${sep}${dots}${sep}${dots}${sep}${dots}`;

const families: Record<string, (P: string) => string[]> = {
  'dot segments climbing from an action to a read path': (P) =>
    DOTDOT.flatMap((d) => [
      `${P}/api/task/revoke/x/${up(d)}/tasks/datatable`,
      `${P}/api/worker/shutdown/w1@host/${up(d)}/${d}/tasks`,
      `${P}/api/task/info/x/${up(d)}/dashboard`,
      `${P}/api/task/revoke/x/${up(d)}/tasks/datatable/`,
    ]),
  'dot segments at the end, with and without a trailing slash': (P) =>
    DOTDOT.flatMap((d) => [
      `${P}/tasks/datatable/x/${d}`,
      `${P}/tasks/datatable/x/${d}/`,
      `${P}/api/task/revoke/x/${d}`,
      `${P}/api/task/revoke/x/${d}/`,
    ]),
  'single-dot segments': (P) =>
    DOT.flatMap((d) => [
      `${P}/api/task/revoke/${d}/x`,
      `${P}/tasks/${d}/datatable`,
      `${P}/${d}/tasks/datatable`,
      `${P}/tasks/datatable/${d}`,
      `${P}/api/task/revoke/x/${d}`,
    ]),
  'dot segments climbing over the prefix': (P) =>
    DOTDOT.flatMap((d) => [`/x/${d}${P}/api/task/revoke/x`, `${P}/${d}${P}/tasks/datatable`]),
  'empty segments (//, ///) in every position': (P) =>
    ['//', '///'].flatMap((s) => [
      `${s}${P.slice(1)}/tasks/datatable`,
      `${P}${s}tasks/datatable`,
      `${P}/tasks${s}datatable`,
      `${P}/tasks/datatable${s}`,
      `${P}${s}api/task/revoke/x`,
      `${P}/api${s}task/revoke/x`,
      `${P}/api/task/revoke${s}x`,
      `${P}/api/task/revoke/x${s}`,
      `${P}/api/task/revoke/x${s}..${s}..${s}..${s}..${s}tasks/datatable`,
    ]),
  'semicolon path parameters': (P) => [
    `${P}/tasks/datatable;x`,
    `${P}/tasks;x/datatable`,
    `${P};/tasks/datatable`,
    `${P}/api/task/revoke;/x`,
    `${P}/..;/api/task/revoke/x`,
    `${P}/api/task/revoke/x;/${up('..')}/tasks/datatable`,
    `${P}/tasks/datatable;/../../api/task/revoke/x`,
  ],
  'encoded slashes': (P) =>
    ['%2F', '%2f'].flatMap((s) => [
      `${P}/tasks${s}datatable`,
      `${P}${s}tasks/datatable`,
      `${P}/api/task/revoke/x${s}${up('..', s)}${s}tasks${s}datatable`,
      `${P}/api/task/revoke/x/${up('..', s)}/tasks/datatable`,
      `${P}/api/task/revoke/x${s}`,
    ]),
  'backslashes, raw and encoded': (P) =>
    ['\\', '%5C', '%5c'].flatMap((s) => [
      `${P}${s}tasks/datatable`,
      `${P}/tasks${s}datatable`,
      `${P}/api/task/revoke/x${s}${up('..', s)}${s}tasks${s}datatable`,
      `${P}/api/task/revoke/x/${up('..', s)}/tasks/datatable`,
    ]),
  'overlong UTF-8 dots and slashes': (P) => [
    ...OVERLONG_DOT.map((d) => `${P}/api/task/revoke/x/${up(d + d)}/tasks/datatable`),
    ...OVERLONG_DOT.map((d) => `${P}/tasks/${d}/datatable`),
    ...OVERLONG_SLASH.map((s) => `${P}/api/task/revoke/x${s}${up('..', s)}${s}tasks${s}datatable`),
    ...OVERLONG_SLASH.map((s) => `${P}/tasks${s}datatable`),
  ],
  NUL: (P) => [
    `${P}/tasks/datatable%00`,
    `${P}/tasks/datatable%00/../../api/task/revoke/x`,
    `${P}/api/task/revoke/x%00/${up('..')}/tasks/datatable`,
    `${P}/api/task/revoke/x/%00/${up('..')}/tasks/datatable`,
  ],
  'double encoding': (P) => [
    `${P}/api/task/revoke/x/${up('%252e%252e')}/tasks/datatable`,
    `${P}/api/task/revoke/x%252f${up('..', '%252f')}%252ftasks%252fdatatable`,
    `${P}/tasks%252fdatatable`,
    `${P}/%2574asks/datatable`,
  ],
  'percent-encoded letters': (P) => [
    `${P}/%74asks/datatable`,
    `${P}/tasks/d%61tatable`,
    `${P}/api/task/%72evoke/x`,
    `${P}/%61pi/task/revoke/x/${up('..')}/tasks/datatable`,
  ],
  'query and fragment tricks': (P) => [
    `${P}/api/task/revoke/x?/${up('..')}/tasks/datatable`,
    `${P}/tasks/datatable?/../../api/task/revoke/x`,
    `${P}/api/task/revoke/x#/${up('..')}/tasks/datatable`,
    `${P}/tasks/datatable#/../../api/task/revoke/x`,
    `${P}/tasks/datatable%3f/../../api/task/revoke/x`,
    `${P}/tasks/datatable%23/../../api/task/revoke/x`,
    `${P}/api/task/revoke/x%3f/${up('..')}/tasks/datatable`,
    `${P}/tasks/datatable?x=1&next=/api/task/revoke/x`,
  ],
  'letter case': (P) => [
    `${P}/API/task/revoke/x`,
    `${P}/api/Task/revoke/x`,
    `${P}/tasks/DATATABLE`,
    `${P.toUpperCase()}/tasks/datatable`,
  ],
};

/** Only meaningful under a URL prefix: spellings of the prefix itself. */
const prefixFamilies: Record<string, (P: string) => string[]> = {
  'prefix variants': (P) => [
    P,
    `${P}/`,
    `${P}api/task/revoke/x`,
    `${P}tasks/datatable`,
    `${P}${P}/api/task/revoke/x`,
    `${P}${P}/tasks/datatable`,
    `${P.replace(/^\/(.)/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`)}/tasks/datatable`,
    `${P}%2f/tasks/datatable`,
    `${P};x/tasks/datatable`,
    `${P}./tasks/datatable`,
    `/tasks/datatable`,
    `/api/task/revoke/x`,
    `/api/task/revoke/x/../..${P}/tasks/datatable`,
  ],
};

/**
 * Paths fast-check puts together from Flower's own segments, dot segments, separators and suffixes: the
 * combinations nobody wrote down. A fixed seed, so every run (and every topology) sends the same ones.
 */
const GENERATED_SEED = 14;
const GENERATED_COUNT = 100;
function generated(P: string): string[] {
  // a real route to start from, then tricks, then maybe a read route to land on
  const base = fc.constantFrom(
    '/api/task/revoke/x',
    '/api/worker/shutdown/w1@host',
    '/api/task/apply/t',
    '/api/task/info/x',
    '/tasks',
    '/tasks/datatable',
    '',
  );
  const trick = fc.constantFrom(
    '/..',
    '/.',
    '/%2e%2e',
    '/%2E.',
    '/.%2e',
    '/%2e',
    '//',
    '/',
    ';',
    '/;',
    '/..;',
    '%2f..',
    '\\..',
    '/%c0%ae%c0%ae',
    '/%00',
    '/x',
    '/api',
    '/task',
  );
  const landing = fc.constantFrom('', '/tasks/datatable', '/tasks', '/', '?a=/../x', '#/../x', '%3f/..');
  const path = fc
    .tuple(base, fc.array(trick, { minLength: 1, maxLength: 8 }), landing)
    .map(([route, tricks, end]) => `${P}${route}${tricks.join('')}${end}`);
  return fc.sample(path, { numRuns: GENERATED_COUNT, seed: GENERATED_SEED });
}

/** The corpus under `prefix` ('' or 'flower'), without duplicates, in a stable order. */
export function hostilePaths(prefix: string): CorpusPath[] {
  const P = prefix ? `/${prefix.replace(/^\/+|\/+$/g, '')}` : '';
  const seen = new Set<string>();
  const out: CorpusPath[] = [];
  const all = {
    ...families,
    ...(P ? prefixFamilies : {}),
    [`generated (fast-check, seed ${GENERATED_SEED})`]: generated,
  };
  for (const [family, make] of Object.entries(all)) {
    for (const uri of make(P)) {
      if (!uri.startsWith('/') || seen.has(uri)) continue;
      seen.add(uri);
      out.push({ family, uri });
    }
  }
  return out;
}

/** Honest requests: the gate must let them through (or the corpus proves nothing), and Tornado runs them. */
export interface HonestRequest {
  user: 'staff' | 'root';
  method: string;
  /** Without the prefix: Flower's own path. */
  path: string;
  /** The handler Tornado must route it to. */
  handler: string;
}

export const HONEST: readonly HonestRequest[] = [
  { user: 'staff', method: 'GET', path: '/tasks', handler: 'flower.views.tasks.TasksView' },
  { user: 'staff', method: 'POST', path: '/tasks/datatable', handler: 'flower.views.tasks.TasksDataTable' },
  { user: 'staff', method: 'GET', path: '/api/task/info/x', handler: 'flower.api.tasks.TaskInfo' },
  { user: 'staff', method: 'GET', path: '/workers?json=1', handler: 'flower.views.workers.WorkersView' },
  { user: 'root', method: 'POST', path: '/api/task/revoke/x', handler: 'flower.api.control.TaskRevoke' },
];
