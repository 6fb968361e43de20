import Koa from 'koa';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from './readiness.ts';

export interface AdminAppDeps {
  readonly registry: Registry;
  readonly readiness: { report(): ReadinessReport };
}

/** Text format 0.0.4: what Prometheus scrapes by default and what promtool can lint. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Handler = (ctx: Koa.Context) => Promise<void> | void;

/**
 * The admin port: metrics and probes, kept off the user-facing port so neither can be reached
 * through the ingress. Only GET and HEAD; nothing here reads a request body or a cookie.
 */
export function createAdminApp(deps: AdminAppDeps): Koa {
  const routes: Record<string, Handler> = {
    '/metrics': async (ctx) => {
      const body = await deps.registry.metrics();
      ctx.set('Content-Type', METRICS_CONTENT_TYPE);
      ctx.body = body;
    },
    '/healthz': (ctx) => {
      ctx.body = { status: 'ok' };
    },
    '/readyz': (ctx) => {
      const report = deps.readiness.report();
      ctx.status = report.status === 'ready' ? 200 : 503;
      ctx.body = report;
    },
  };

  const app = new Koa();
  app.use(async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const handler = Object.hasOwn(routes, ctx.path) ? routes[ctx.path] : undefined;
    if (handler === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'not found', paths: Object.keys(routes) };
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.set('Allow', 'GET, HEAD');
      ctx.body = { error: 'method not allowed' };
      return;
    }
    await handler(ctx);
  });
  return app;
}
