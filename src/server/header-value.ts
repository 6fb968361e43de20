// Identity header values on the wire. Django usernames, emails and group names are Unicode ("jürgen",
// "用户"); an HTTP header carries bytes. flowergate sends the UTF-8 bytes, as Go proxies (oauth2-proxy,
// Traefik) do and as nginx and Caddy copy them through; a WSGI upstream gets them back with
// `value.encode('latin-1').decode('utf-8')` (PEP 3333). Node writes a header string one byte per
// character (latin1) and refuses characters above U+00FF, so the value handed to Node is the UTF-8 bytes
// spelled as latin1 characters. (One trap: Node joins the head and a first body chunk given as a *string*
// and writes both as UTF-8, which encodes these characters a second time. Identity headers travel on
// bodiless 200s and on proxied requests whose bodies are Buffers, so they are never caught by it.)
//
// A value that could not arrive as it is, is not sent at all: a control character (CR and LF end the
// header, NUL truncates it in C servers, TAB and the rest are stripped or refused by some receivers),
// a space at either end (receivers strip it, so "root " would arrive as "root"), or a lone surrogate
// (UTF-8 cannot carry it). Django's own username validator never lets such a name in; one made around
// it (the ORM, a raw INSERT) loses that header, and a process warning says which.

/** Printable ASCII, no space at either end: sent as it is. Almost every value. */
const PLAIN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
/** C0 controls (TAB included) and DEL. */
const CONTROL = /[\x00-\x1f\x7f]/;

/**
 * The string to hand Node so the UTF-8 bytes of `value` go on the wire, or null when the value must
 * not be sent (see unsendable()).
 */
export function encodeHeaderValue(value: string): string | null {
  if (PLAIN.test(value)) return value;
  if (unsendable(value) !== null) return null;
  return Buffer.from(value, 'utf8').toString('latin1');
}

/** Why `value` cannot be sent as a header, or null when it can. */
export function unsendable(value: string): string | null {
  const control = CONTROL.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `it has a control character (U+${code})`;
  }
  if (value.startsWith(' ') || value.endsWith(' ')) return 'it starts or ends with a space';
  if (!value.isWellFormed()) return 'it has a lone surrogate';
  return null;
}

/** Whether `wire` is what encodeHeaderValue() returns: bytes Node writes as they are, safe in a header. */
export function isEncodedHeaderValue(wire: string): boolean {
  return /^(?:[\x21-\x7e\x80-\xff](?:[\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/.test(wire);
}

const warned = new Set<string>();

/**
 * Every header of `headers` encoded; one that cannot be sent is left out, and a process warning
 * (code FLOWERGATE_HEADER_NOT_SENT) names the header and `subject`, never the value. Warned once per
 * header and subject, so a polling dashboard does not repeat it every second.
 */
export function encodeHeaders(
  headers: Record<string, string>,
  subject: string | (() => string),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name] as string;
    const wire = encodeHeaderValue(value);
    if (wire !== null) {
      out[name] = wire;
      continue;
    }
    const who = typeof subject === 'string' ? subject : subject();
    const key = `${name}\n${who}`;
    if (warned.has(key)) continue;
    if (warned.size >= 1000) warned.clear();
    warned.add(key);
    process.emitWarning(`${name} not sent upstream for ${who}: ${unsendable(value)}`, {
      code: 'FLOWERGATE_HEADER_NOT_SENT',
    });
  }
  return out;
}
