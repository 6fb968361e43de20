import type { DjangoConfig } from '../../config/schema.ts';
import type { DjangoDatabase } from '../database/store.ts';
import { formatDjangoDatetime } from '../instant.ts';
import { createSessionDecoder } from '../session-codec.ts';
import type { SessionLoader } from './loaded.ts';

/**
 * Django's `session_key` column (AbstractBaseSession): `CharField(max_length=40, primary_key=True)`.
 * The resolver refuses longer keys before any query (resolve-session.ts).
 */
export const SESSION_KEY_MAX_LENGTH = 40;

/**
 * The db engine, and cached_db read through its database row (the safe subset: a cache copy of a
 * deleted row can only make Django more permissive than us, never the reverse).
 */
export function createDbSessionLoader(config: DjangoConfig, database: DjangoDatabase): SessionLoader {
  const decode = createSessionDecoder(config);
  const zone = config.useTz ? null : config.timeZone;
  return async (sessionKey, at) => {
    const row = await database.findSession(sessionKey, formatDjangoDatetime(at, zone));
    if (!row) return { ok: false, reason: 'no_session' };
    if (!row.live) return { ok: false, reason: 'expired' };
    const decoded = decode(row.data);
    return decoded.ok
      ? { ok: true, data: decoded.data }
      : { ok: false, reason: decoded.reason === 'expired' ? 'bad_payload' : decoded.reason };
  };
}
