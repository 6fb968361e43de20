import type { TLSSocket } from 'node:tls';
import Router from '@koa/router';
import Koa from 'koa';
import type { Pipeline } from '../decision/pipeline.ts';
import type { NetworkSet } from '../policy/networks.ts';
import type { Answer, AnswerOptions } from './answer.ts';
import { subRequest } from './auth-endpoints.ts';
import { isMalformed, schemeOf } from './dialects/dialect.ts';
import { extractForward } from './dialects/forward.ts';

export interface MainAppDeps {
  readonly pipeline: Pipeline;
  readonly answers: AnswerOptions;
  readonly trustedProxies: NetworkSet | null;
  /** Flower's URL prefix: whoami's default path is Flower's dashboard under it. */
  readonly urlPrefix: string;
}

/**
 * The main port's low-traffic routes: whoami, sign-in, and 404s that say where to look. The
 * forward-auth endpoints and the proxy are served before Koa (src/server/auth-endpoints.ts).
 */
export function createMainApp(deps: MainAppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by the composition root's handler, with secrets scrubbed
  const router = new Router();

  // Who am I, and would I get in? For people debugging a 401/403; never shows secrets.
  router.get('/_flowergate/whoami', async (ctx) => {
    // The question is asked in the forward dialect's words; the caller's own copies of either family
    // would only contradict it.
    const { 'x-original-url': _url, 'x-original-method': _method, ...own } = ctx.req.headers;
    const base = extractForward(
      {
        ...subRequest(ctx.req),
        headers: {
          ...own,
          'x-forwarded-method': String(ctx.query['method'] ?? 'GET'),
          'x-forwarded-uri': String(ctx.query['path'] ?? `${deps.urlPrefix}/`),
          'x-forwarded-host': ctx.req.headers.host,
        },
      },
      deps.trustedProxies,
    );
    if (isMalformed(base)) {
      send(ctx, {
        status: 400,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: `${JSON.stringify({ error: base.malformed })}\n`,
      });
      return;
    }
    const result = await deps.pipeline(base);
    const principal = result.principal;
    const user =
      principal?.kind === 'django'
        ? {
            kind: 'django',
            id: principal.identity.userId,
            username: principal.identity.username,
            email: principal.identity.email,
            isSuperuser: principal.identity.isSuperuser,
            isStaff: principal.identity.isStaff,
            isActive: principal.identity.isActive,
            groups: await principal.identity.groups().catch(() => []),
          }
        : principal?.kind === 'kube'
          ? { kind: 'serviceaccount', username: principal.username, groups: principal.groups }
          : null;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      authenticated: user !== null,
      user,
      request: { method: base.method, path: result.path, client: base.client },
      allowed: result.decision === 'allow',
      decision: result.decision,
      reason: result.reason,
      rule: result.match?.rule ?? null,
      require: result.match?.requirementText ?? null,
    };
  });

  // For ingress-nginx `auth-signin`: validate the `rd` target, then send the browser to Django's login.
  router.get('/_flowergate/sign_in', (ctx) => {
    const login = deps.answers.loginUrl;
    if (!login) {
      send(ctx, {
        status: 404,
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body: 'FLOWERGATE_DJANGO_LOGIN_URL is not set\n',
      });
      return;
    }
    const url = new URL(login);
    const rd = String(ctx.query['rd'] ?? ctx.query['next'] ?? '');
    const host = ctx.req.headers.host ?? '';
    // A path is on the host the browser came from (Flower's), not Django's: Django would resolve it
    // against its own host. Made absolute, it is a target only if that host is in ALLOWED_HOSTS.
    const relative = rd.startsWith('/');
    const scheme = schemeOf(
      ctx.get('x-forwarded-proto') || undefined,
      (ctx.req.socket as TLSSocket).encrypted ? 'https' : 'http',
    );
    // The path itself is checked first (no //, /\\ or encoded tricks), then the host it lands on.
    const path = relative ? deps.answers.redirectCheck(rd, host) : null;
    const target = relative ? (path === null ? '' : `${scheme}://${host}${path}`) : rd;
    const next = target ? deps.answers.redirectCheck(target, host) : null;
    if (next) url.searchParams.set('next', next);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url.href);
  });
  app.use(router.routes());
  app.use(async (ctx) => {
    if (ctx.path.startsWith('/_flowergate/')) {
      ctx.status = 404;
      ctx.body = {
        error: 'not_found',
        detail: 'reserved prefix /_flowergate/: see the README for the endpoints',
      };
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found', detail: 'forward-auth mode: point your proxy at /_flowergate/auth/…' };
  });
  return app;
}

export function send(ctx: Koa.Context, answer: Answer): void {
  ctx.status = answer.status;
  ctx.set(answer.headers);
  ctx.body = answer.body;
}
