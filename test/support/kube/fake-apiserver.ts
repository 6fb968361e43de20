// A fake kube-apiserver for tests: HTTPS on 127.0.0.1, speaking the real authentication.k8s.io/v1
// TokenReview and authorization.k8s.io/v1 SubjectAccessReview JSON, with the apiserver's status codes
// and Status objects, so @kubernetes/client-node runs its real HTTP stack against it. It records every
// review it receives, and failures (delay, 5xx, a closed socket, a broken body) can be injected.
//
//   const api = await startFakeApiServer({ pki, tokens: { 'tok-1': { user: { username: 'alice' } } } });
//   t.teardown(() => api.close());
//   const kc = loadKubeConfigFromString(api.kubeconfig());

import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { kubeconfigYaml } from './kubeconfig.ts';
import type { TestPki } from './pki.ts';

export interface FakeUserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface FakeToken {
  user: FakeUserInfo;
  /** Audiences the token was issued for; default: the API server's own (implicit) audience. */
  audiences?: string[];
  /** Report these in `status.audiences` whatever was asked: an authenticator that misbehaves. */
  reportAudiences?: string[];
}

/** The JSON shapes as they travel on the wire (client-node's own types are classes with optional fields). */
export interface TokenReviewSpec {
  token?: string;
  audiences?: string[];
}

export interface SubjectAccessReviewSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes?: Record<string, string>;
  nonResourceAttributes?: { path?: string; verb?: string };
}

export interface AccessVerdict {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

export type AllowFunction = (spec: SubjectAccessReviewSpec) => boolean | AccessVerdict;

export type Failure =
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; code: number }
  | { kind: 'close' }
  | { kind: 'truncated' }
  | { kind: 'html' }
  /** A 400 Status whose message quotes the request body, as a decoder error might: the token included. */
  | { kind: 'echo' }
  /** A 201 whose JSON breaks right at the echoed token, so JSON.parse's message quotes part of it. */
  | { kind: 'corrupt' };

export type RecordedReview =
  | { kind: 'token'; spec: TokenReviewSpec; callerAuthorized: boolean }
  | { kind: 'access'; spec: SubjectAccessReviewSpec; callerAuthorized: boolean };

export interface FakeApiServerOptions {
  pki: TestPki;
  tokens?: Record<string, FakeToken>;
  allow?: AllowFunction;
  /** The token flowergate itself must present; anything else gets 401. */
  callerToken?: string;
  /** Answer 403, as when flowergate's service account lacks system:auth-delegator. */
  callerForbidden?: boolean;
  /** The API server's own audience, used when a TokenReview names none (kube-apiserver --api-audiences). */
  implicitAudiences?: string[];
}

export interface FakeApiServer {
  readonly url: string;
  readonly port: number;
  readonly caPem: string;
  readonly callerToken: string;
  /** Mutable: tests add or revoke tokens and change the RBAC function between calls. */
  tokens: Record<string, FakeToken>;
  allow: AllowFunction;
  callerForbidden: boolean;
  /** Every review received, in order, including those answered with a failure. */
  readonly reviews: RecordedReview[];
  tokenReviews(): TokenReviewSpec[];
  accessReviews(): SubjectAccessReviewSpec[];
  /** TLS connections accepted so far. */
  connections(): number;
  /** Requests whose client went away before they were answered (an aborted, timed-out call). */
  aborted(): number;
  /** The next requests meet these failures, one each, in order. */
  failNext(...failures: Failure[]): void;
  /** Every request meets this failure until it is set to null. */
  failAll(failure: Failure | null): void;
  kubeconfig(options?: { token?: string; caPem?: string }): string;
  close(): Promise<void>;
}

const DEFAULT_IMPLICIT_AUDIENCES = ['https://kubernetes.default.svc.cluster.local'];
const MAX_BODY = 1 << 20;

export async function startFakeApiServer(options: FakeApiServerOptions): Promise<FakeApiServer> {
  const callerToken = options.callerToken ?? 'flowergate-caller-token';
  const implicitAudiences = options.implicitAudiences ?? DEFAULT_IMPLICIT_AUDIENCES;
  const queued: Failure[] = [];
  let persistent: Failure | null = null;
  let connectionCount = 0;
  let abortedCount = 0;

  const state = {
    tokens: { ...options.tokens },
    allow: options.allow ?? ((() => false) as AllowFunction),
    callerForbidden: options.callerForbidden ?? false,
    reviews: [] as RecordedReview[],
  };

  // Sockets we close on purpose (an injected failure) are not the client going away.
  const closedOnPurpose = new WeakSet<ServerResponse>();
  const server = createServer({ key: options.pki.keyPem, cert: options.pki.certPem }, (req, res) => {
    res.on('close', () => {
      if (!res.writableFinished && !closedOnPurpose.has(res)) abortedCount += 1;
    });
    readBody(req)
      .then((body) => handle(req, res, body))
      .catch(() => {
        if (!res.headersSent) send(res, 400, status(400, 'BadRequest', 'the request body could not be read'));
      });
  });
  server.on('secureConnection', () => {
    connectionCount += 1;
  });

  function handle(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const path = (req.url ?? '').split('?')[0];
    const isTokenReview = path === '/apis/authentication.k8s.io/v1/tokenreviews';
    const isAccessReview = path === '/apis/authorization.k8s.io/v1/subjectaccessreviews';
    if (req.method !== 'POST' || !(isTokenReview || isAccessReview)) {
      send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    let body: { spec?: unknown } & Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      send(res, 400, status(400, 'BadRequest', 'the object provided is unrecognized'));
      return;
    }
    const callerAuthorized = req.headers.authorization === `Bearer ${callerToken}`;
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    state.reviews.push(
      isTokenReview
        ? { kind: 'token', spec: spec as TokenReviewSpec, callerAuthorized }
        : { kind: 'access', spec: spec as SubjectAccessReviewSpec, callerAuthorized },
    );

    const answer = (): [number, unknown] => {
      if (!callerAuthorized) return [401, status(401, 'Unauthorized', 'Unauthorized')];
      if (state.callerForbidden) {
        const resource = isTokenReview ? 'tokenreviews' : 'subjectaccessreviews';
        const group = isTokenReview ? 'authentication.k8s.io' : 'authorization.k8s.io';
        const message = `${resource}.${group} is forbidden: User "system:serviceaccount:flower:flowergate" cannot create resource "${resource}" in API group "${group}" at the cluster scope`;
        return [403, { ...status(403, 'Forbidden', message), details: { group, kind: resource } }];
      }
      return isTokenReview ? tokenReview(body, spec as TokenReviewSpec) : accessReview(body, spec);
    };

    const failure = queued.shift() ?? persistent;
    if (!failure) {
      send(res, ...answer());
      return;
    }
    switch (failure.kind) {
      case 'delay': {
        const timer = setTimeout(() => send(res, ...answer()), failure.ms);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'status':
        send(
          res,
          failure.code,
          status(failure.code, 'InternalError', 'Internal error occurred: injected failure'),
        );
        return;
      case 'close':
        closedOnPurpose.add(res);
        req.socket.destroy();
        return;
      case 'truncated': {
        const [, full] = answer();
        const text = JSON.stringify(full);
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(text.slice(0, Math.floor(text.length * 0.6)));
        return;
      }
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'echo':
        send(res, 400, status(400, 'BadRequest', `the request body ${raw} could not be decoded`));
        return;
      case 'corrupt': {
        const [, full] = answer();
        const text = JSON.stringify(full).replace(/"token":"([^"]*)"/, '"token":$1');
        res.writeHead(201, { 'content-type': 'application/json' }).end(text);
        return;
      }
    }
  }

  function tokenReview(body: Record<string, unknown>, spec: TokenReviewSpec): [number, unknown] {
    if (typeof spec.token !== 'string' || spec.token === '') {
      return [422, invalid('TokenReview', 'spec.token', 'Required value: token is required')];
    }
    const entry = state.tokens[spec.token];
    const echo = { ...body, metadata: { creationTimestamp: null } };
    if (!entry) return [201, { ...echo, status: { user: {}, error: 'invalid bearer token' } }];
    const wanted = spec.audiences?.length ? spec.audiences : implicitAudiences;
    const tokenAudiences = entry.audiences ?? implicitAudiences;
    const granted = tokenAudiences.filter((a) => wanted.includes(a));
    if (granted.length === 0) {
      const error = `token audiences ${JSON.stringify(tokenAudiences)} is invalid for the target audiences ${JSON.stringify(wanted)}`;
      return [201, { ...echo, status: { user: {}, error } }];
    }
    const user = { groups: ['system:authenticated'], ...entry.user };
    return [
      201,
      { ...echo, status: { authenticated: true, user, audiences: entry.reportAudiences ?? granted } },
    ];
  }

  function accessReview(body: Record<string, unknown>, spec: SubjectAccessReviewSpec): [number, unknown] {
    if (Boolean(spec.resourceAttributes) === Boolean(spec.nonResourceAttributes)) {
      const message =
        'Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified';
      return [422, invalid('SubjectAccessReview', 'spec.resourceAttributes', message)];
    }
    if (!spec.user && !spec.groups?.length) {
      return [
        422,
        invalid(
          'SubjectAccessReview',
          'spec.user',
          'Invalid value: "": at least one of user or group must be specified',
        ),
      ];
    }
    const verdict = state.allow(spec);
    const statusObject = typeof verdict === 'boolean' ? { allowed: verdict } : verdict;
    return [201, { ...body, metadata: { creationTimestamp: null }, status: statusObject }];
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;

  return {
    url,
    port,
    caPem: options.pki.caPem,
    callerToken,
    get tokens() {
      return state.tokens;
    },
    set tokens(value) {
      state.tokens = value;
    },
    get allow() {
      return state.allow;
    },
    set allow(value) {
      state.allow = value;
    },
    get callerForbidden() {
      return state.callerForbidden;
    },
    set callerForbidden(value) {
      state.callerForbidden = value;
    },
    reviews: state.reviews,
    tokenReviews: () => state.reviews.flatMap((r) => (r.kind === 'token' ? [r.spec] : [])),
    accessReviews: () => state.reviews.flatMap((r) => (r.kind === 'access' ? [r.spec] : [])),
    connections: () => connectionCount,
    aborted: () => abortedCount,
    failNext: (...failures) => {
      queued.push(...failures);
    },
    failAll: (failure) => {
      persistent = failure;
    },
    kubeconfig: (opts = {}) =>
      kubeconfigYaml({
        server: url,
        caPem: opts.caPem ?? options.pki.caPem,
        token: opts.token ?? callerToken,
      }),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function invalid(kind: string, field: string, detail: string): Record<string, unknown> {
  const message = `${kind}.${kind === 'TokenReview' ? 'authentication' : 'authorization'}.k8s.io "" is invalid: ${field}: ${detail}`;
  return {
    ...status(422, 'Invalid', message),
    details: { kind, causes: [{ reason: 'FieldValueInvalid', message: detail, field }] },
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
