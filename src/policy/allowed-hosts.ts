/**
 * Django's ALLOWED_HOSTS, with Django's own rules (django.http.request.split_domain_port,
 * validate_host and django.utils.http.is_same_domain): the port is ignored, matching is
 * case-insensitive, a trailing dot is dropped; `name` matches exactly, `.example.com` matches
 * example.com and every subdomain, `*` matches any host — but a Host that is not a valid host name
 * is refused even then, as Django does.
 */
export type HostCheck = (host: string) => boolean;

const HOST = /^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::[0-9]+)?$/;

/** The domain Django would validate (lower case, no port, no trailing dot), or '' when the Host is invalid. */
export function djangoDomain(host: string): string {
  const match = HOST.exec(host.toLowerCase());
  if (!match) return '';
  const domain = match[1]!;
  return domain.endsWith('.') ? domain.slice(0, -1) : domain;
}

/** Django's is_same_domain(host, pattern), `host` already a domain. */
export function isSameDomain(domain: string, pattern: string): boolean {
  if (!pattern) return false;
  const p = pattern.toLowerCase();
  return (p[0] === '.' && (domain.endsWith(p) || domain === p.slice(1))) || p === domain;
}

/** A check for `patterns`, or null when none are set (no check, and no own host is trusted for `next`). */
export function createHostCheck(patterns: readonly string[]): HostCheck | null {
  if (patterns.length === 0) return null;
  const any = patterns.includes('*');
  const lowered = patterns.map((p) => p.toLowerCase());
  const validate = (host: string): boolean => {
    const domain = djangoDomain(host);
    if (!domain) return false;
    return any || lowered.some((pattern) => isSameDomain(domain, pattern));
  };
  // A proxy's requests nearly all carry one host: remembering the last answer keeps the check off
  // the hot path.
  let lastHost = '';
  let lastAnswer = false;
  return (host) => {
    if (host === lastHost) return lastAnswer;
    const answer = validate(host);
    lastHost = host;
    lastAnswer = answer;
    return answer;
  };
}
