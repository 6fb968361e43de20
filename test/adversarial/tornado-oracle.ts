// Tornado as the oracle: which handler real Celery Flower 2.1 would run for a raw request. tornado_routes.py
// builds Flower's own URL table (flower/urls.py, rewritten for --url_prefix by flower/app.py) and asks Tornado's
// router; nothing is served. Every route in the table is classified here, independently of src/, as `act`
// (changes workers or tasks, or runs code) or not.
//
//   const { routes } = await routeInFlower('flower', [{ method: 'POST', uri: '/flower/api/task/revoke/x' }]);
//   runsAnAction(routes[0]);   // true: TaskRevoke.post

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PYTHON } from '../support/flower-upstream.ts';
import { FLOWER_SOURCE } from '../support/real-flower.ts';

const SCRIPT = fileURLToPath(new URL('./tornado_routes.py', import.meta.url));

export interface OracleRequest {
  method: string;
  /** The request-target as it reaches Tornado (path and query). */
  uri: string;
}

export interface HandlerInfo {
  /** Dotted class name, e.g. `flower.api.control.TaskRevoke` (`tornado.web.ErrorHandler` when nothing matched). */
  handler: string;
  /** The HTTP methods the class implements; Tornado answers 405 to any other. */
  methods: string[];
}

export interface Route extends HandlerInfo, OracleRequest {
  /** request.path: what Tornado matched its patterns against. */
  path: string;
  /** The path arguments the handler would receive. */
  args: string[];
}

export interface TableEntry extends HandlerInfo {
  /** The anchored pattern as Tornado compiled it (`/flower/api/task/revoke/(.+)$`). */
  pattern: string;
}

export interface Routing {
  tornado: string;
  table: TableEntry[];
  routes: Route[];
}

/**
 * Flower's handlers whose POST changes workers or tasks, or runs code (research/flower.md §2: "every POST
 * under /api/ mutates"). Written out, not derived, so the test that compares it with Tornado's table can fail.
 */
export const ACTING_HANDLERS: ReadonlySet<string> = new Set([
  'flower.api.control.WorkerShutDown',
  'flower.api.control.WorkerPoolRestart',
  'flower.api.control.WorkerPoolGrow',
  'flower.api.control.WorkerPoolShrink',
  'flower.api.control.WorkerPoolAutoscale',
  'flower.api.control.WorkerQueueAddConsumer',
  'flower.api.control.WorkerQueueCancelConsumer',
  'flower.api.tasks.TaskApply',
  'flower.api.tasks.TaskAsyncApply',
  'flower.api.tasks.TaskSend',
  'flower.api.tasks.TaskAbort',
  'flower.api.control.TaskTimout',
  'flower.api.control.TaskRateLimit',
  'flower.api.control.TaskRevoke',
]);

/** The methods that act on an acting handler: everything it implements but the CORS preflight. */
export const actingMethod = (method: string) => method !== 'OPTIONS';

/** Would Tornado run code that acts? Routed to an acting handler that implements this method (else 405). */
export function runsAnAction(route: Route): boolean {
  return (
    ACTING_HANDLERS.has(route.handler) && route.methods.includes(route.method) && actingMethod(route.method)
  );
}

/** Routes every request through Flower's table under `prefix` ('' or 'flower'), in one Python run. */
export function routeInFlower(prefix: string, requests: readonly OracleRequest[]): Promise<Routing> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [SCRIPT],
      {
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', FLOWER_SOURCE },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tornado_routes.py: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Routing);
      },
    );
    child.stdin?.end(JSON.stringify({ prefix, requests }));
  });
}
