import type { DjangoConfig } from '../config/schema.ts';
import { readCookie, wsgiCookieHeader } from './cookie-header.ts';
import type { DjangoDatabase } from './database/store.ts';
import { createGetUser } from './get-user.ts';
import { createDbSessionLoader, SESSION_KEY_MAX_LENGTH } from './sessions/db-session.ts';
import { createFileSessionLoader } from './sessions/file-session.ts';
import type { SessionLoader } from './sessions/loaded.ts';
import { createSignedCookieSessionLoader } from './sessions/signed-cookie-session.ts';
import type { SessionVerdict } from './verdict.ts';

export interface SessionResolver {
  /** The session cookie's value as Django reads it from a Cookie header (last duplicate wins). */
  sessionCookie(cookieHeader: string | undefined): string | undefined;
  /**
   * Django's answer when no store needs asking (no cookie; a value no session can have), else null.
   * Such answers are not worth a cache entry: a flood of garbage must not evict real sessions.
   */
  precheck(cookie: string | undefined): SessionVerdict | null;
  /** Django's answer for that cookie value at instant `at` (µs). Store failures reject; never an allow. */
  resolve(cookie: string | undefined, at: number): Promise<SessionVerdict>;
}

/** Cookies longer than any Django session (signed cookies are capped by browsers at ~4 KiB). */
const MAX_COOKIE_LENGTH = 8192;

export function createSessionResolver(config: DjangoConfig, database: DjangoDatabase): SessionResolver {
  const load = createLoader(config, database);
  const getUser = createGetUser(config, database);
  const engine = config.sessionEngine;
  // A db row's key fits its column; anything longer cannot exist, so it costs no query.
  const longest = engine === 'db' || engine === 'cached_db' ? SESSION_KEY_MAX_LENGTH : MAX_COOKIE_LENGTH;
  const tooLong: SessionVerdict = {
    kind: 'anonymous',
    reason: engine === 'signed_cookies' ? 'bad_signature' : 'no_session',
  };
  const precheck = (cookie: string | undefined): SessionVerdict | null => {
    if (!cookie) return NO_COOKIE;
    // SessionBase._validate_session_key: shorter than 8 characters means no session at all.
    if (cookie.length < 8) return INVALID_KEY;
    return cookie.length > longest ? tooLong : null;
  };
  return {
    sessionCookie: (header) => readCookie(wsgiCookieHeader(header), config.sessionCookieName),
    precheck,
    async resolve(cookie, at) {
      if (!cookie) return NO_COOKIE;
      const known = precheck(cookie);
      if (known) return known;
      const loaded = await load(cookie, at);
      if (!loaded.ok) return { kind: 'anonymous', reason: loaded.reason };
      return getUser(loaded.data);
    },
  };
}

const NO_COOKIE: SessionVerdict = { kind: 'anonymous', reason: 'no_cookie' };
const INVALID_KEY: SessionVerdict = { kind: 'anonymous', reason: 'invalid_session_key' };

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
