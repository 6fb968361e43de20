// The real Celery Flower 2.1.0 (the unmodified release in ../shared/flower/, next to the repository), for the
// presets' route-coverage test and the end-to-end journeys. Debian packages only: see FLOWER_PACKAGES.
//
//   const routes = flowerRouteTable();   // every route in flower/urls.py with the methods its handler answers

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './flower-upstream.ts';
import { MissingToolError, probe } from './processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** ../shared/flower: Flower's source, labapp.py and run-flower.sh. */
export const FLOWER_DIR = process.env.FLOWERGATE_TEST_FLOWER_DIR ?? join(ROOT, '../shared/flower');
export const FLOWER_SOURCE = join(FLOWER_DIR, 'flower-2.1.0');
export const FLOWER_PACKAGES =
  'python3-celery python3-kombu python3-tornado python3-prometheus-client python3-humanize python3-tz python3-redis redis-server';

/** For toolTest(): Flower's source and the Debian packages it imports. */
export const realFlowerTool = {
  name: 'Celery Flower 2.1.0',
  check: () => {
    if (!existsSync(join(FLOWER_SOURCE, 'flower/urls.py')))
      throw new MissingToolError(
        `Flower's source at ${FLOWER_SOURCE}`,
        'nothing',
        'set FLOWERGATE_TEST_FLOWER_DIR',
      );
    const r = probe(PYTHON, ['-c', 'import celery, tornado, redis, prometheus_client, humanize, pytz']);
    if (r.status !== 0)
      throw new MissingToolError('Flower’s Python modules', FLOWER_PACKAGES, r.output.trim());
  },
};

/** One Flower route as Tornado holds it, with the methods its handler class implements. */
export interface FlowerRouteInfo {
  /** As urls.py writes it (Tornado's trailing `$` removed). */
  route: string;
  handler: string;
  /** Methods the class overrides from RequestHandler; Tornado answers 405 to the rest. */
  methods: string[];
  /** The class picks another class at construction (`__new__`), so its methods say nothing. */
  dynamic: boolean;
}

const INTROSPECT = `
import json
from tornado.web import RequestHandler, URLSpec
from flower.urls import handlers
out = []
for h in handlers:
    pattern, cls = (h.regex.pattern, h.handler_class) if isinstance(h, URLSpec) else (h[0], h[1])
    if pattern.endswith('$'):
        pattern = pattern[:-1]
    methods = [m for m in RequestHandler.SUPPORTED_METHODS
               if getattr(cls, m.lower()) is not getattr(RequestHandler, m.lower())]
    out.append(dict(route=pattern, handler=cls.__module__ + '.' + cls.__name__, methods=methods,
                    dynamic='__new__' in cls.__dict__))
print(json.dumps(out))
`;

/** Flower's route table, read by importing flower/urls.py with Debian's Python and Tornado. */
export function flowerRouteTable(): FlowerRouteInfo[] {
  const r = probe('/usr/bin/env', [
    `PYTHONPATH=${FLOWER_SOURCE}`,
    'PYTHONDONTWRITEBYTECODE=1',
    PYTHON,
    '-c',
    INTROSPECT,
  ]);
  if (r.status !== 0) throw new Error(`reading Flower's routes failed:\n${r.output}`);
  // The JSON is the last line; warnings (stderr, merged) may come before it.
  return JSON.parse(r.output.trim().split('\n').at(-1) ?? '') as FlowerRouteInfo[];
}
