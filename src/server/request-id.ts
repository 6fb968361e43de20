import { randomUUID } from 'node:crypto';

/** Keep a proxy's X-Request-ID when it is sane (it ties our audit line to theirs); otherwise make one. */
export function requestId(header: string | undefined): string {
  return header && header.length <= 128 && /^[\w.:-]+$/.test(header) ? header : randomUUID();
}
