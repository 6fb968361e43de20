import type { DjangoConfig } from '../../config/schema.ts';
import { createSignedCookieDecoder } from '../session-codec.ts';
import type { SessionLoader } from './loaded.ts';

/** The signed_cookies engine: the cookie is the session; only its age is checked, never `_session_expiry`. */
export function createSignedCookieSessionLoader(config: DjangoConfig): SessionLoader {
  const decode = createSignedCookieDecoder(config);
  return async (cookie, at) => {
    const decoded = decode(cookie, at);
    return decoded.ok ? { ok: true, data: decoded.data } : { ok: false, reason: decoded.reason };
  };
}
