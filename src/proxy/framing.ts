import type { IncomingHttpHeaders } from 'node:http';
import type { Answer } from '../server/answer.ts';

/**
 * Why a request's body framing cannot be proxied, or null when it can: no `Transfer-Encoding`, or
 * `chunked` alone (any case, empty list elements ignored as RFC 9110 §5.6.1 asks). Node's parser has
 * already decoded `chunked` and refused a list where it is not last or comes twice; what is left to
 * refuse here is a coding before it (`gzip, chunked`, `identity, chunked`), which flowergate does not
 * implement: forwarding the list verbatim would make Tornado frame the body differently from us, and
 * dropping the coding would change the body. The other cases are checked again, so the rule does not
 * depend on the parser's leniency.
 *
 * RFC 9112 §6.3: a request whose final coding is not `chunked` cannot be framed: 400, then close.
 * §6.1: a sender must not apply `chunked` twice (400); a coding the server does not understand: 501.
 * Both answers close the connection, since the body's end is unknown.
 */
export function framingRefusal(headers: IncomingHttpHeaders): Answer | null {
  const value = headers['transfer-encoding'];
  if (value === undefined) return null;
  const codings = value
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '');
  if (codings.length === 1 && codings[0] === 'chunked') return null;
  if (codings.at(-1) !== 'chunked')
    return refusal(400, 'bad_request', 'Transfer-Encoding must end with chunked');
  if (codings.indexOf('chunked') !== codings.length - 1)
    return refusal(400, 'bad_request', 'chunked may be applied only once');
  return refusal(501, 'not_implemented', 'only Transfer-Encoding: chunked is supported');
}

function refusal(status: 400 | 501, error: string, detail: string): Answer {
  return {
    status,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'close',
    },
    body: `${JSON.stringify({ error, detail })}\n`,
  };
}
