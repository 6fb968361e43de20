import Router from '@koa/router';
import Koa from 'koa';
import type { Pipeline, PipelineResult } from '../decision/pipeline.ts';
import type { OriginalRequest } from '../decision/request.ts';
import type { NetworkSet } from '../policy/networks.ts';
import { type Answer, type AnswerOptions, denialAnswer, identityHeaders } from './answer.ts';
import type { Extract, SubRequest } from './dialects/dialect.ts';
import { ENVOY_PREFIX, extractEnvoy } from './dialects/envoy.ts';
import { extractForward } from './dialects/forward.ts';
import { extractNginx } from './dialects/nginx.ts';

export type DecisionObserver = (request: OriginalRequest, result: PipelineResult, seconds: number) => void;

export interface MainAppDeps {
  readonly pipeline: Pipeline;
  readonly answers: AnswerOptions;
  readonly trustedProxies: NetworkSet | null;
  readonly observe: DecisionObserver;
  /** Sidecar mode: everything outside /_flowergate/ goes here (the proxy owns the response). */
  readonly fallback?: Koa.Middleware;
}

/** The main port: the forward-auth endpoints, whoami, sign-in, and in sidecar mode the proxy. */
export function createMainApp(deps: MainAppDeps): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by the composition root's handler, with secrets scrubbed
  const router = new Router();

  const decideWith =
    (extract: Extract): Koa.Middleware =>
    async (ctx) => {
      const started = performance.now();
      const original = extract(subRequest(ctx), deps.trustedProxies);
      if (typeof original === 'string') {
        // A sub-request that doesn't say what it is for is refused; 403 is one of nginx's two codes.
        send(ctx, {
          status: 403,
          headers: { 'Content-Type': 'application/json; charset=utf-8' },
          body: `${JSON.stringify({ decision: 'forbidden', reason: 'bad_request', detail: original })}\n`,
        });
        return;
      }
      const result = await deps.pipeline(original);
      deps.observe(original, result, (performance.now() - started) / 1000);
      if (result.decision === 'allow') {
        ctx.status = 200;
        // Every identity header, empty when unknown (a public path, no email, no groups): a proxy that copies
        // them then overwrites a client-sent copy. Caddy 2.6's copy_headers would otherwise send its
        // placeholder text upstream; nginx drops an empty value.
        const names = deps.answers.headerNames;
        ctx.set({
          [names.user]: '',
          [names.email]: '',
          [names.groups]: '',
          ...(await identityHeaders(result, names)),
        });
        ctx.set('Cache-Control', 'no-store');
        ctx.body = '';
        return;
      }
      send(ctx, denialAnswer(result, original, deps.answers));
    };

  router.all('/_flowergate/auth/nginx', decideWith(extractNginx));
  router.all('/_flowergate/auth/forward', decideWith(extractForward));
  router.all(new RegExp(`^${ENVOY_PREFIX}(/.*)?$`), decideWith(extractEnvoy));

  // Who am I, and would I get in? For people debugging a 401/403; never shows secrets.
  router.get('/_flowergate/whoami', async (ctx) => {
    const base = extractForward(
      {
        ...subRequest(ctx),
        headers: {
          ...ctx.req.headers,
          'x-forwarded-method': String(ctx.query['method'] ?? 'GET'),
          'x-forwarded-uri': String(ctx.query['path'] ?? '/'),
          'x-forwarded-host': ctx.req.headers.host,
        },
      },
      deps.trustedProxies,
    );
    if (typeof base === 'string') {
      send(ctx, {
        status: 400,
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: `${JSON.stringify({ error: base })}\n`,
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
    const next = rd ? deps.answers.redirectCheck(rd, ctx.req.headers.host ?? '') : null;
    if (next) url.searchParams.set('next', next);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url.href);
  });
  app.use(router.routes());
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith('/_flowergate/')) {
      ctx.status = 404;
      ctx.body = {
        error: 'not_found',
        detail: 'reserved prefix /_flowergate/: see the README for the endpoints',
      };
      return;
    }
    if (deps.fallback) return deps.fallback(ctx, next);
    ctx.status = 404;
    ctx.body = { error: 'not_found', detail: 'forward-auth mode: point your proxy at /_flowergate/auth/…' };
  });
  return app;
}

function subRequest(ctx: Koa.Context): SubRequest {
  return {
    method: ctx.method,
    url: ctx.url,
    headers: ctx.req.headers,
    peer: ctx.req.socket.remoteAddress,
    encrypted: 'encrypted' in ctx.req.socket && Boolean(ctx.req.socket.encrypted),
  };
}

export function send(ctx: Koa.Context, answer: Answer): void {
  ctx.status = answer.status;
  ctx.set(answer.headers);
  ctx.body = answer.body;
}
