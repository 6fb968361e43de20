// One original request put to flowergate the way each supported proxy would put it: the nginx endpoint
// (X-Original-URL + X-Original-Method, as ingress-nginx sends them), the forward endpoint (X-Forwarded-*, as
// Traefik and Caddy send them), the Envoy endpoint (the path behind its prefix), or the sidecar itself.

import { type Flowergate, type HttpResponse, request } from '../support/e2e.ts';

export const GATE_ROUTES = ['nginx', 'forward', 'envoy', 'sidecar'] as const;
export type GateRoute = (typeof GATE_ROUTES)[number];

export interface OriginalRequestSpec {
  method: string;
  /** Path and query as the client sent them. */
  uri: string;
  /** The client's Host; the same-origin `Origin` is sent for it. Default flower.test. */
  host?: string;
  cookie?: string;
  /** More headers (they win). */
  headers?: Record<string, string>;
}

export function askGate(fg: Flowergate, route: GateRoute, spec: OriginalRequestSpec): Promise<HttpResponse> {
  const host = spec.host ?? 'flower.test';
  const common: Record<string, string> = {
    origin: `http://${host}`,
    accept: 'application/json',
    ...(spec.cookie ? { cookie: spec.cookie } : {}),
  };
  switch (route) {
    case 'nginx':
      return request(`${fg.url}/_flowergate/auth/nginx`, {
        headers: {
          ...common,
          'x-original-url': `http://${host}${spec.uri}`,
          'x-original-method': spec.method,
          ...spec.headers,
        },
      });
    case 'forward':
      return request(`${fg.url}/_flowergate/auth/forward`, {
        headers: {
          ...common,
          'x-forwarded-method': spec.method,
          'x-forwarded-proto': 'http',
          'x-forwarded-host': host,
          'x-forwarded-uri': spec.uri,
          ...spec.headers,
        },
      });
    case 'envoy':
      return rawTarget(fg, `/_flowergate/auth/envoy${spec.uri}`, spec.method, {
        ...common,
        host,
        ...spec.headers,
      });
    case 'sidecar':
      return rawTarget(fg, spec.uri, spec.method, {
        ...common,
        host,
        ...(spec.method === 'GET' || spec.method === 'HEAD' ? {} : { 'content-length': '0' }),
        ...spec.headers,
      });
  }
}

/** `request()` with the request-target sent exactly as given (no URL() parsing, which resolves dot segments). */
function rawTarget(
  fg: Flowergate,
  target: string,
  method: string,
  headers: Record<string, string>,
): Promise<HttpResponse> {
  return request(`${fg.url}/`, { method, headers, target });
}
