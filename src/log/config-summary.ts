import { describeDatabase } from '../config/database-url.ts';
import { type Config, effectiveUrlPrefix } from '../config/schema.ts';
import { MASK, scrub } from './scrub.ts';

/**
 * What the start-up log line says about the loaded configuration: enough to see which settings
 * won (file or environment), nothing that unlocks anything. Secrets appear only as their length,
 * URLs lose their credentials, the policy is counted rather than listed.
 */
export function summarizeConfig(config: Config): Record<string, unknown> {
  const { django, kubernetes } = config;
  return {
    mode: config.upstream === null ? 'forward-auth' : 'proxy',
    listen: config.listen,
    adminListen: config.adminListen,
    upstream: config.upstream === null ? null : scrub(config.upstream),
    django: {
      version: django.version.label,
      secretKey: `${MASK} (${django.secretKey.length} characters)`,
      secretKeyFallbacks: django.secretKeyFallbacks.length,
      database: describeDatabase(django.databaseUrl),
      sessionEngine: django.sessionEngine,
      sessionStoreClass: django.sessionStoreClass,
      sessionCookieName: django.sessionCookieName,
      sessionCookieAge: django.sessionCookieAge,
      ...(django.sessionEngine === 'file' ? { sessionFilePath: django.sessionFilePath } : {}),
      authenticationBackends: django.authenticationBackends,
      loginUrl: django.loginUrl === null ? null : scrub(django.loginUrl),
      userTable: django.userModel.table,
    },
    policy: {
      default: config.policy.default,
      rules: config.policy.rules.length,
      preset: config.policy.preset,
      csrfGuard: config.policy.csrfGuard,
    },
    cache: config.cache,
    trustedProxies: config.trustedProxies,
    urlPrefix: effectiveUrlPrefix(config),
    allowedHosts: config.allowedHosts,
    kubernetes: {
      tokenAuth: kubernetes.tokenAuth,
      audiences: kubernetes.audiences.length,
      resourceAttributes: kubernetes.resourceAttributes !== null,
    },
    proxy: config.proxy,
    storeTimeout: config.storeTimeout,
    log: config.log,
  };
}

/** Literal secrets to hand the logger, so they are masked even where no pattern would catch them. */
export function configSecrets(config: Config): string[] {
  const { django } = config;
  const secrets = [django.secretKey, ...django.secretKeyFallbacks];
  if (django.databaseUrl.kind !== 'sqlite' && django.databaseUrl.password)
    secrets.push(django.databaseUrl.password);
  return secrets;
}
