import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { loadConfig } from '../config/load.ts';
import { effectiveUrlPrefix } from '../config/schema.ts';
import { createCsrfGuard } from '../decision/csrf.ts';
import { decide, principalOf } from '../decision/decide.ts';
import { openDatabase } from '../django/database/open-database.ts';
import { nowMicros, parseInstant } from '../django/instant.ts';
import { createSessionResolver } from '../django/resolve-session.ts';
import { isFlowergateError } from '../errors.ts';
import { createPolicy, policyProblems } from '../policy/policy.ts';
import { ambiguity, flowerPath, judgedPath } from '../policy/request-path.ts';

export interface CheckOptions {
  readonly config?: string | undefined;
  readonly at?: string | undefined;
  readonly method?: string | undefined;
  readonly path?: string | undefined;
  readonly host?: string | undefined;
  /** The request's scheme: with --host, its own origin for the CSRF guard (default https). */
  readonly scheme?: string | undefined;
  /** `Origin` and `Referer` as the browser would send them: the CSRF guard judges unsafe methods by them. */
  readonly origin?: string | undefined;
  readonly referer?: string | undefined;
  readonly cookieHeaders: readonly string[];
}

export interface CheckIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * `flowergate check`: explains verdicts without a server, one JSON line per Cookie header.
 * Exit 0 when every line is allowed, 1 when any is denied, 2 on a configuration error.
 */
export async function runCheck(options: CheckOptions, io: CheckIo): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file: options.config, env: io.env });
    const problems = policyProblems(config.policy);
    if (problems.length)
      throw new Error(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  } catch (error) {
    io.stderr.write(`flowergate check: ${(error as Error).message}\n`);
    return 2;
  }
  const at = options.at === undefined ? nowMicros() : parseInstant(options.at);
  if (at === null) {
    io.stderr.write(
      `flowergate check: --at must be an ISO-8601 instant with a zone, e.g. 2026-11-22T10:00:00.000000Z\n`,
    );
    return 2;
  }
  const method = (options.method ?? 'GET').toUpperCase();
  // --path is the request's path as the browser sends it (the URL prefix included, when there is one).
  const prefix = effectiveUrlPrefix(config);
  const requested = options.path ?? `${prefix}/`;
  const judged = judgedPath(requested);
  if (judged === null) {
    io.stderr.write(`flowergate check: --path is ambiguous (${ambiguity(requested)}); it would be refused\n`);
    return 2;
  }
  const path = flowerPath(judged, prefix);
  if (path === null) {
    io.stderr.write(`flowergate check: --path is outside the URL prefix ${prefix}; it would be refused\n`);
    return 2;
  }
  const scheme = options.scheme ?? 'https';
  if (scheme !== 'http' && scheme !== 'https') {
    io.stderr.write('flowergate check: --scheme must be http or https\n');
    return 2;
  }
  // The service's CSRF guard, as the pipeline applies it: to a Django user's unsafe request the policy allowed.
  const csrfGuard = config.policy.csrfGuard ? createCsrfGuard(config.policy.trustedOrigins) : () => true;
  const sameOrigin = (cookie: string) =>
    csrfGuard({
      dialect: 'forward',
      requestId: 'check',
      method,
      scheme,
      host: options.host ?? '',
      uri: requested,
      client: null,
      cookie,
      authorization: undefined,
      accept: undefined,
      xRequestedWith: undefined,
      origin: options.origin,
      referer: options.referer,
      websocket: false,
    });
  const database = await openDatabase(config);
  const resolver = createSessionResolver(config.django, database);
  const match = createPolicy(config.policy).match({
    method,
    host: options.host ?? '',
    path,
    client: null,
  });

  let denied = false;
  const explain = async (header: string) => {
    const line = await explainOne(header);
    if (!line.allowed) denied = true;
    io.stdout.write(`${JSON.stringify(line)}\n`);
  };
  const explainOne = async (header: string) => {
    try {
      const verdict = await resolver.resolve(resolver.sessionCookie(header), at);
      const outcome = await decide(
        principalOf(verdict),
        verdict.kind === 'anonymous' ? verdict.reason : 'ok',
        match,
      );
      const user = verdict.kind === 'user' ? verdict.identity : null;
      const crossSite = outcome.decision === 'allow' && user !== null && !sameOrigin(header);
      const { decision, reason } = crossSite
        ? ({ decision: 'forbidden', reason: 'csrf_origin_mismatch' } as const)
        : outcome;
      return {
        authenticated: user !== null,
        userId: user?.userId ?? null,
        username: user?.username ?? '',
        email: user?.email ?? '',
        isSuperuser: user?.isSuperuser ?? false,
        isStaff: user?.isStaff ?? false,
        isActive: user?.isActive ?? false,
        viaFallbackKey: user?.viaFallbackKey ?? false,
        allowed: decision === 'allow',
        decision,
        reason,
        rule: match.rule,
        require: match.requirementText,
      };
    } catch (error) {
      if (!isFlowergateError(error)) throw error;
      io.stderr.write(`flowergate check: ${error.message}\n`);
      return {
        authenticated: false,
        userId: null,
        allowed: false,
        decision: 'error',
        reason: 'store_unavailable',
      };
    }
  };

  try {
    if (options.cookieHeaders.length > 0) {
      for (const header of options.cookieHeaders) await explain(header);
    } else {
      const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const header of lines) await explain(header);
    }
  } finally {
    await database.close();
  }
  return denied ? 1 : 0;
}
