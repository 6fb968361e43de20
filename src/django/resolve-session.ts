import type { DjangoConfig } from '../config/schema.ts';
import { readCookie, wsgiCookieHeader } from './cookie-header.ts';
import type { DjangoDatabase } from './database/store.ts';
import { createGetUser } from './get-user.ts';
import { createDbSessionLoader } from './sessions/db-session.ts';
import { createFileSessionLoader } from './sessions/file-session.ts';
import type { SessionLoader } from './sessions/loaded.ts';
import { createSignedCookieSessionLoader } from './sessions/signed-cookie-session.ts';
import type { SessionVerdict } from './verdict.ts';

export interface SessionResolver {
  /** The session cookie's value as Django reads it from a Cookie header (last duplicate wins). */
  sessionCookie(cookieHeader: string | undefined): string | undefined;
  /** Django's answer for that cookie value at instant `at` (µs). Store failures reject; never an allow. */
  resolve(cookie: string | undefined, at: number): Promise<SessionVerdict>;
}

/** Cookies longer than any Django session (signed cookies are capped by browsers at ~4 KiB). */
const MAX_COOKIE_LENGTH = 8192;

export function createSessionResolver(config: DjangoConfig, database: DjangoDatabase): SessionResolver {
  const load = createLoader(config, database);
  const getUser = createGetUser(config, database);
  return {
    sessionCookie: (header) => readCookie(wsgiCookieHeader(header), config.sessionCookieName),
    async resolve(cookie, at) {
      if (!cookie) return { kind: 'anonymous', reason: 'no_cookie' };
      // SessionBase._validate_session_key: shorter than 8 characters means no session at all.
      if (cookie.length < 8) return { kind: 'anonymous', reason: 'invalid_session_key' };
      if (cookie.length > MAX_COOKIE_LENGTH) {
        return {
          kind: 'anonymous',
          reason: config.sessionEngine === 'signed_cookies' ? 'bad_signature' : 'no_session',
        };
      }
      const loaded = await load(cookie, at);
      if (!loaded.ok) return { kind: 'anonymous', reason: loaded.reason };
      return getUser(loaded.data);
    },
  };
}

function createLoader(config: DjangoConfig, database: DjangoDatabase): SessionLoader {
  switch (config.sessionEngine) {
    case 'db':
    case 'cached_db':
      return createDbSessionLoader(config, database);
    case 'signed_cookies':
      return createSignedCookieSessionLoader(config);
    case 'file':
      return createFileSessionLoader(config);
  }
}
