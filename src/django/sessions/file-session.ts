import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { DjangoConfig } from '../../config/schema.ts';
import { FlowergateError } from '../../errors.ts';
import { formatDjangoDatetime, parseInstant } from '../instant.ts';
import { createSessionDecoder } from '../session-codec.ts';
import type { SessionLoader } from './loaded.ts';

const VALID_KEY = /^[a-z0-9]+$/;
const MAX_FILE_BYTES = 1024 * 1024;

/** The file engine: `SESSION_FILE_PATH/<cookie name><key>`, expired by `_session_expiry` or mtime + age. */
export function createFileSessionLoader(config: DjangoConfig): SessionLoader {
  const decode = createSessionDecoder(config);
  return async (sessionKey, at) => {
    // Django refuses keys outside [a-z0-9] before touching the disk (InvalidSessionKey).
    if (!VALID_KEY.test(sessionKey)) return { ok: false, reason: 'no_session' };
    const path = join(config.sessionFilePath, config.sessionCookieName + sessionKey);
    let text: string;
    let mtimeNs: bigint;
    try {
      const handle = await open(path, 'r');
      try {
        const stat = await handle.stat({ bigint: true });
        if (stat.size > MAX_FILE_BYTES) return { ok: false, reason: 'bad_payload' };
        mtimeNs = stat.mtimeNs;
        text = (await handle.readFile()).toString('latin1');
      } finally {
        await handle.close();
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')
        return { ok: false, reason: 'no_session' };
      throw new FlowergateError(
        'STORE_UNAVAILABLE',
        `cannot read session file in ${config.sessionFilePath}: ${code ?? 'error'}`,
        {
          cause: error,
        },
      );
    }
    // Django opens the file as ASCII; anything else raises out of load().
    if (/[^\x00-\x7f]/.test(text)) return { ok: false, reason: 'bad_payload' };
    if (text === '') return { ok: true, data: {} };
    const decoded = decode(text);
    // Django carries on with an empty dict; the user is anonymous whatever the expiry says.
    if (!decoded.ok)
      return { ok: false, reason: decoded.reason === 'expired' ? 'bad_payload' : decoded.reason };
    const expired = isExpired(decoded.data['_session_expiry'], pythonMtimeMicros(mtimeNs), at, config);
    if (expired === 'crash') return { ok: false, reason: 'bad_payload' };
    if (expired) return { ok: false, reason: 'expired' };
    return { ok: true, data: decoded.data };
  };
}

/**
 * `get_expiry_age(expiry=_session_expiry or mtime + SESSION_COOKIE_AGE) <= 0`. The age is
 * `days * 86400 + seconds` of the timedelta, i.e. whole seconds rounded down: less than one second
 * left is expired. A non-datetime `_session_expiry` (an int) is returned as the age itself.
 */
function isExpired(
  expiry: unknown,
  mtimeMicros: number,
  at: number,
  config: DjangoConfig,
): boolean | 'crash' {
  let expiryMicros: number;
  if (!expiry) {
    expiryMicros = mtimeMicros + config.sessionCookieAge * 1_000_000;
  } else if (typeof expiry === 'number' || typeof expiry === 'boolean') {
    return Number(expiry) <= 0;
  } else if (typeof expiry === 'string' && !config.version.legacySha1) {
    const parsed = parseExpiry(expiry, config);
    if (parsed === null) return 'crash';
    expiryMicros = parsed;
  } else {
    return 'crash';
  }
  return Math.floor((expiryMicros - at) / 1_000_000) <= 0;
}

/** `datetime.fromisoformat`; aware values need USE_TZ, naive ones need it off (else Python raises). */
function parseExpiry(text: string, config: DjangoConfig): number | null {
  const aware = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  if (aware !== config.useTz) return null;
  if (aware) return parseInstant(text);
  // Naive wall time in TIME_ZONE: find the instant whose wall clock reads `text`.
  const guess = parseInstant(`${text}Z`);
  if (guess === null) return null;
  const wall = parseInstant(`${formatDjangoDatetime(guess, config.timeZone)}Z`)!;
  return guess - (wall - guess);
}

/** `datetime.utcfromtimestamp(os.stat().st_mtime)`: a float of seconds, rounded half-even to µs. */
function pythonMtimeMicros(mtimeNs: bigint): number {
  const seconds = Number(mtimeNs / 1_000_000_000n) + Number(mtimeNs % 1_000_000_000n) * 1e-9;
  const whole = Math.trunc(seconds);
  const scaled = (seconds - whole) * 1e6;
  let micros = Math.round(scaled);
  if (Math.abs(scaled % 1) === 0.5 && micros % 2 !== 0) micros -= 1;
  return whole * 1_000_000 + micros;
}
