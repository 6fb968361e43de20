export type SessionEngine = 'db' | 'cached_db' | 'signed_cookies' | 'file';

const ENGINES: readonly SessionEngine[] = ['db', 'cached_db', 'signed_cookies', 'file'];
const PREFIX = 'django.contrib.sessions.backends.';

export function parseSessionEngine(
  name: string,
): { kind: 'ok'; engine: SessionEngine } | { kind: 'error'; message: string } {
  const short = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
  if ((ENGINES as readonly string[]).includes(short)) return { kind: 'ok', engine: short as SessionEngine };
  if (short === 'cache') {
    return {
      kind: 'error',
      message:
        'the cache engine stores unsigned pickles that flowergate will not read; switch Django to ' +
        "SESSION_ENGINE='django.contrib.sessions.backends.cached_db' (same speed, and flowergate reads the database row)",
    };
  }
  return {
    kind: 'error',
    message: `must be one of ${ENGINES.join(', ')} (or Django's dotted names such as ${PREFIX}db); a custom engine that subclasses one of them works with its base name and FLOWERGATE_DJANGO_SESSION_STORE_CLASS`,
  };
}
