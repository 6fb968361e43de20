import type { Dialect } from './labels.ts';

/** The original request as a dialect extracted it: everything the decision needs, nothing else. */
export interface OriginalRequest {
  readonly dialect: Dialect;
  readonly requestId: string;
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** Host as the client sent it (may carry a port). */
  readonly host: string;
  /** Raw path and query, as the client sent it. */
  readonly uri: string;
  /** The client address after walking trusted proxies; null when unknown. */
  readonly client: string | null;
  readonly cookie: string | undefined;
  readonly authorization: string | undefined;
  readonly accept: string | undefined;
  readonly xRequestedWith: string | undefined;
  readonly origin: string | undefined;
  readonly referer: string | undefined;
  /**
   * A WebSocket handshake (`Upgrade: websocket`): a browser opens one cross-site with the user's cookie
   * and no CORS check, so the CSRF guard holds it to the rule of an unsafe method.
   */
  readonly websocket: boolean;
}

/** A browser navigation may be redirected to the login page; XHR and API clients get JSON. */
export function isBrowserNavigation(request: OriginalRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (request.xRequestedWith) return false;
  return (request.accept ?? '').includes('text/html');
}

export function originalUrl(request: OriginalRequest): string {
  return `${request.scheme}://${request.host}${request.uri}`;
}
