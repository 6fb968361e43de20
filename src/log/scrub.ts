/**
 * Masks secrets in free text (error messages, stack traces, URLs) and in structured log values.
 * Patterns catch the shapes secrets take in messages; literal secrets (SECRET_KEY, database
 * password) are masked wherever they appear, whatever the shape.
 */

export const MASK = '***';
export const REDACTED = '[Redacted]';

const PATTERNS: readonly [RegExp, string][] = [
  // A whole Cookie / Set-Cookie / Authorization header quoted in a message.
  [/\b((?:set-)?cookie|(?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)[^\r\n"']+/gi, `$1$2${MASK}`],
  // Credentials after an auth scheme.
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}/g, `$1 ${MASK}`],
  // `sessionid=…`, `csrftoken=…`, `password=…`, `access_token=…` in cookies, query strings, DSNs.
  [
    /\b([\w-]*(?:session|sid|csrf|token|secret|passw(?:or)?d|pwd|api[-_]?key|credential)[\w-]*)=[^;\s,&"']+/gi,
    `$1=${MASK}`,
  ],
  // `://user:password@host`.
  [/(:\/\/[^\s/:@]*):[^\s/@]*@/g, `$1:${MASK}@`],
  // JWTs, such as Kubernetes service-account tokens.
  [/\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g, MASK],
];

// Cheap pre-check so ordinary strings skip the regex pass.
const SUSPICIOUS = /[=:@]|bearer|basic|token|eyj/i;

export function scrub(text: string, secrets: readonly string[] = [], names?: RegExp): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  if (!SUSPICIOUS.test(out)) return out;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return names ? out.replace(names, `$1=${MASK}`) : out;
}

/**
 * Keys whose string or object values are never logged, at any depth. `cookie` only as a whole key
 * or `…cookieHeader`, so `sessionCookieName` in the configuration summary stays readable.
 */
const SECRET_KEY_NAMES =
  /^(?:set-)?cookies?$|cookie[-_]?(?:header|value)s?$|authorization|token|secret|passw(?:or)?d|pwd|api[-_]?key|credential|session[-_]?key/i;

export interface Redactor {
  text(value: string): string;
  value(value: unknown): unknown;
}

export interface RedactorOptions {
  /** Literal secrets to mask anywhere; values shorter than 4 characters are ignored. */
  readonly secrets?: readonly string[];
  /**
   * More names to redact (exact, case-insensitive): as object keys, and as `name=value` in text.
   * For the session and CSRF cookie names, which a Django site may have renamed.
   */
  readonly keys?: readonly string[];
}

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const secrets = [...new Set(options.secrets ?? [])]
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length); // longest first, so a secret containing another is masked whole
  const keys = new Set((options.keys ?? []).map((k) => k.toLowerCase()));
  // Key names repeat (audit fields, configuration paths): remember each one's verdict, boundedly.
  const keyVerdicts = new Map<string, boolean>();
  const isSecretKey = (key: string) => {
    let verdict = keyVerdicts.get(key);
    if (verdict === undefined) {
      verdict = SECRET_KEY_NAMES.test(key) || keys.has(key.toLowerCase());
      if (keyVerdicts.size < 1024) keyVerdicts.set(key, verdict);
    }
    return verdict;
  };
  const names = keys.size
    ? new RegExp(`(?<![\\w-])(${[...keys].map(escapeRegExp).join('|')})=[^;\\s,&"']+`, 'gi')
    : undefined;
  const text = (value: string) => scrub(value, secrets, names);

  // `ancestors` holds the objects above this one, for cycle detection; it is made only when a value
  // nests an object, so a flat line (an audit entry) costs no allocation beyond its copy.
  const value = (input: unknown, depth: number, ancestors: WeakSet<object> | null): unknown => {
    if (typeof input === 'string') return text(input);
    if (typeof input !== 'object' || input === null) return input;
    if (ancestors?.has(input)) return '[Circular]';
    if (depth > 8) return '[Truncated]';
    if (input instanceof Error) return value(serializeError(input), depth, ancestors);
    let seen = ancestors;
    const child = (item: unknown): unknown => {
      if (typeof item !== 'object' || item === null) return typeof item === 'string' ? text(item) : item;
      if (!seen) seen = new WeakSet([input]);
      return value(item, depth + 1, seen);
    };
    ancestors?.add(input); // ancestors only: the same object twice side by side is not a cycle
    let out: unknown;
    if (Array.isArray(input)) out = input.map(child);
    else {
      const copy: Record<string, unknown> = {};
      const record = input as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        copy[key] = isSecretKey(key) && !isHarmless(item) ? REDACTED : child(item);
      }
      out = copy;
    }
    ancestors?.delete(input);
    return out;
  };
  return { text, value: (input) => value(input, 0, null) };
}

/** Flags (`tokenAuth: true`), counts and already-masked values under a secret-looking key are fine. */
function isHarmless(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    typeof value === 'boolean' ||
    typeof value === 'number' ||
    value === REDACTED ||
    (typeof value === 'string' && MASKED.test(value))
  );
}

/** The forms config-summary.ts writes: `***` or `*** (50 characters)`. */
const MASKED = /^\*\*\*(?: \(\d+ characters\))?$/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface SerializedError {
  type: string;
  message: string;
  stack?: string | undefined;
  code?: unknown;
  cause?: unknown;
}

function serializeError(error: Error): SerializedError {
  const out: SerializedError = { type: error.name, message: error.message, stack: error.stack };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (error.cause !== undefined) out.cause = error.cause;
  return out;
}
