import { tmpdir } from 'node:os';
import { z } from 'zod';
import { parseDatabaseUrl } from './database-url.ts';
import { parseDjangoVersion } from './django-version.ts';
import { parseSessionEngine } from './session-engine.ts';

/**
 * The one configuration schema. Every key is overridable by environment: `django.secretKey` is
 * `FLOWERGATE_DJANGO_SECRET_KEY`, `cache.allowTtl` is `FLOWERGATE_CACHE_ALLOW_TTL`, and so on
 * (see env.ts). Objects are strict: an unknown key is an error, never silently ignored.
 */

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:4180')
  .refine(
    (v) => !/:\d+$/.test(v) || Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535,
    'port must be at most 65535',
  );

const seconds = z
  .number()
  .nonnegative()
  .max(86_400 * 366);

const userModel = z
  .strictObject({
    table: z.string().min(1).default('auth_user').describe('table of AUTH_USER_MODEL'),
    pkColumn: z.string().min(1).default('id'),
    pkType: z.enum(['int', 'uuid', 'string']).default('int').describe('how Django parses `_auth_user_id`'),
    passwordColumn: z.string().min(1).default('password'),
    usernameColumn: z.string().min(1).default('username'),
    emailColumn: z.string().min(1).nullable().default('email'),
    isActiveColumn: z
      .string()
      .min(1)
      .nullable()
      .default('is_active')
      .describe('null: the model has no is_active'),
    isSuperuserColumn: z.string().min(1).nullable().default('is_superuser'),
    isStaffColumn: z.string().min(1).nullable().default('is_staff'),
    groupsTable: z.string().min(1).default('auth_user_groups'),
    userPermissionsTable: z.string().min(1).default('auth_user_user_permissions'),
    m2mUserColumn: z
      .string()
      .min(1)
      .default('user_id')
      .describe('the user column of the two m2m tables: <model>_id, e.g. member_id for a Member model'),
  })
  .prefault({});

const django = z
  .strictObject({
    secretKey: z
      .string({ error: 'is required: set FLOWERGATE_DJANGO_SECRET_KEY (or _FILE) to your Django SECRET_KEY' })
      .min(1, 'is empty: set FLOWERGATE_DJANGO_SECRET_KEY (or _FILE) to your Django SECRET_KEY')
      .describe("Django's SECRET_KEY"),
    secretKeyFallbacks: z.array(z.string().min(1)).default([]).describe('SECRET_KEY_FALLBACKS (Django 4.1+)'),
    databaseUrl: z
      .string()
      .default('sqlite:///db.sqlite3')
      .transform((url, ctx) => {
        const parsed = parseDatabaseUrl(url);
        if (typeof parsed === 'string') {
          ctx.addIssue({ code: 'custom', message: parsed });
          return z.NEVER;
        }
        return parsed;
      }),
    sessionEngine: z
      .string()
      .default('db')
      .transform((name, ctx) => {
        const parsed = parseSessionEngine(name);
        if (parsed.kind === 'error') {
          ctx.addIssue({ code: 'custom', message: parsed.message });
          return z.NEVER;
        }
        return parsed.engine;
      }),
    sessionStoreClass: z
      .string()
      .regex(/^[A-Za-z_][\w.]*$/)
      .default('SessionStore')
      .describe('__qualname__ of a SessionStore subclass; it changes the signing salt'),
    sessionCookieName: z.string().min(1).default('sessionid'),
    sessionCookieAge: z.number().int().positive().default(1_209_600),
    sessionFilePath: z.string().min(1).default(tmpdir()),
    authenticationBackends: z
      .array(z.string().min(1))
      .min(1)
      .default(['django.contrib.auth.backends.ModelBackend']),
    allowAllUsersBackends: z
      .array(z.string().min(1))
      .default([])
      .describe('custom backends whose get_user skips is_active, like AllowAllUsersModelBackend'),
    version: z
      .string()
      .default('6.1')
      .transform((v, ctx) => {
        const parsed = parseDjangoVersion(v);
        if (typeof parsed === 'string') {
          ctx.addIssue({ code: 'custom', message: parsed });
          return z.NEVER;
        }
        return parsed;
      }),
    defaultHashingAlgorithm: z.enum(['sha256', 'sha1']).default('sha256').describe('Django 3.2 only'),
    useTz: z.boolean().default(true),
    timeZone: z.string().min(1).default('UTC').describe('TIME_ZONE; matters only when useTz is false'),
    loginUrl: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null),
    logoutUrl: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null)
      .describe(
        "linked from the 403 page: a page of the Django site that logs out (Django 5's LogoutView needs a POST)",
      ),
    userModel,
  })
  // An absent block still reports the missing secret key by name, not "expected object".
  .prefault({} as { secretKey: string });

export const requirementSchema = z
  .string()
  .regex(
    /^(public|authenticated|staff|superuser|group:.+|perm:[^.\s]+\.[^\s]+|serviceaccount(:.+)?|kube-group:.+)$/,
    'must be public, authenticated, staff, superuser, group:<name>, perm:<app_label.codename>, serviceaccount[:<namespace>/<name>] or kube-group:<name>',
  );

const pathMatch = z.union([
  z.strictObject({ prefix: z.string().startsWith('/') }),
  z.strictObject({ exact: z.string().startsWith('/') }),
  z.strictObject({
    regex: z.string().refine((r) => {
      try {
        new RegExp(r, 'u');
        return true;
      } catch {
        return false;
      }
    }, 'is not a valid regular expression'),
  }),
]);

export const ruleSchema = z.strictObject({
  name: z.string().min(1).optional(),
  methods: z.array(z.string().regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')).optional(),
  hosts: z.array(z.string().min(1)).optional(),
  path: pathMatch.optional(),
  networks: z.array(z.string().min(1)).optional(),
  require: requirementSchema,
});

const policy = z
  .strictObject({
    default: requirementSchema.default('superuser'),
    rules: z.array(ruleSchema).default([]),
    trustedOrigins: z.array(z.url()).default([]).describe('extra origins allowed by the CSRF guard'),
    csrfGuard: z.boolean().default(true),
    preset: z
      .enum(['superuser-only', 'flower-read-only-staff', 'flower-operators'])
      .default('superuser-only')
      .describe("rules from Flower's route table, applied after policy.rules (see src/policy/presets.ts)"),
    operatorGroup: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('the Django group whose members may act on workers and tasks under flower-operators'),
  })
  .refine((p) => p.preset !== 'flower-operators' || p.operatorGroup !== null, {
    path: ['operatorGroup'],
    message: 'is required with policy.preset flower-operators: the Django group whose members may act',
  })
  .prefault({});

const cache = z
  .strictObject({
    allowTtl: seconds.default(5),
    denyTtl: seconds.default(1),
    maxEntries: z
      .number()
      .int()
      .positive()
      .max(10_000_000)
      .default(10_000)
      .describe(
        'cached verdicts at most, for allows and for denials each (a flood of denials cannot evict allows)',
      ),
  })
  .prefault({});

const kubernetes = z
  .strictObject({
    tokenAuth: z
      .boolean()
      .default(false)
      .describe('admit service-account bearer tokens (TokenReview + SubjectAccessReview)'),
    audiences: z
      .array(z.string().min(1))
      .default([])
      .describe('TokenReview audiences; a token must be issued for one (empty: the API server default)'),
    resourceAttributes: z
      .strictObject({
        namespace: z.string().default(''),
        group: z.string().default('flowergate.io'),
        version: z.string().default('v1'),
        resource: z.string().min(1).default('flower'),
        subresourceFromPath: z
          .boolean()
          .default(true)
          .describe('the first path segment after proxy.urlPrefix is the subresource (/api/workers: api)'),
        name: z.string().default(''),
      })
      .nullable()
      .default(null)
      .describe('null: authorize with nonResourceAttributes (the path)'),
    tokenReviewAllowTtl: seconds.default(120).describe('seconds an accepted token is cached'),
    tokenReviewDenyTtl: seconds.default(30).describe('seconds a refused token is cached'),
    accessReviewAllowTtl: seconds.default(300).describe('seconds an RBAC allow is cached'),
    accessReviewDenyTtl: seconds.default(30).describe('seconds an RBAC denial is cached'),
    cacheMaxEntries: z.number().int().positive().default(10_000).describe('entries per review cache'),
    timeout: seconds.positive().default(5).describe('seconds one call to the API server may take'),
  })
  .prefault({});

const headers = z
  .strictObject({
    user: z.string().min(1).default('X-Auth-Request-User'),
    email: z.string().min(1).default('X-Auth-Request-Email'),
    groups: z.string().min(1).default('X-Auth-Request-Groups'),
  })
  .prefault({});

/**
 * Flower's `--url_prefix`, written with or without slashes (`flower`, `/flower/`): kept as `/flower`,
 * or '' for none. Dot segments and characters a path would need escaped are refused.
 */
const urlPrefix = z
  .string()
  .transform((text) => {
    const bare = text.trim().replace(/^\/+|\/+$/g, '');
    return bare === '' ? '' : `/${bare}`;
  })
  .refine(
    (prefix) => /^(\/[A-Za-z0-9\-_~!$&'()*+,;=:@]+)*$/.test(prefix) && !/\/\.\.?(?:\/|$)/.test(prefix),
    'must be like flower or /flower (segments without ., .., %, ? or #)',
  )
  // Flower pastes the prefix into Tornado's URL patterns unescaped: these would be regex syntax there.
  .refine(
    (prefix) => !/[$()*+]/.test(prefix),
    "must not contain $ ( ) * or +: Flower puts --url_prefix into Tornado's URL patterns as a regular expression",
  )
  .refine(
    (prefix) => prefix !== '/_flowergate' && !prefix.startsWith('/_flowergate/'),
    'must not be under /_flowergate/, which flowergate keeps for itself',
  );

const proxy = z
  .strictObject({
    urlPrefix: urlPrefix.default('').describe('an alias of urlPrefix (FLOWERGATE_PROXY_URL_PREFIX)'),
    stripCookies: z.array(z.string().min(1)).default([]).describe('more cookies never sent upstream'),
    connectTimeout: seconds.positive().default(5).describe('seconds to open a connection to the upstream'),
    headersTimeout: seconds
      .positive()
      .default(60)
      .describe('seconds the upstream may take to start answering once the request was sent'),
    idleTimeout: seconds
      .positive()
      .default(120)
      .describe(
        'seconds a proxied exchange or WebSocket may stay silent, on either side, before both are closed',
      ),
    shutdownTimeout: seconds.default(25).describe('fit within terminationGracePeriodSeconds'),
    maxSockets: z
      .number()
      .int()
      .positive()
      .max(65_536)
      .default(128)
      .describe('connections to the upstream at most; further requests wait (up to connectTimeout) for one'),
    keepAliveTimeout: seconds
      .default(4)
      .describe(
        "seconds an idle upstream connection is kept for reuse; keep it below the upstream's own (0: no reuse)",
      ),
  })
  .prefault({});

const log = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    allowSampleRate: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe(
        'share of repeated allows logged (a read on a cached verdict, or a public path); forbidden users, fresh verdicts and unsafe methods always are (unauthenticated ones: see unauthenticatedPerSecond; errors: once per reason every 10 s, the rest counted)',
      ),
    unauthenticatedPerSecond: z
      .int()
      .min(0)
      .default(100)
      .describe(
        'unauthenticated decisions, and refusals of requests naming no user, logged per second at most (0: all); the rest are counted in one line a second, and in the metrics',
      ),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    django,
    upstream: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null),
    listen: hostPort.default('0.0.0.0:4180'),
    adminListen: hostPort.default('0.0.0.0:9464'),
    trustedProxies: z.array(z.string().min(1)).default([]),
    allowedRedirectHosts: z.array(z.string().min(1)).default([]),
    urlPrefix: urlPrefix
      .default('')
      .describe("Flower's --url_prefix; policy rules are written against Flower's paths after it"),
    allowedHosts: z
      .array(
        z
          .string()
          .min(1)
          .transform((host) => host.toLowerCase()),
      )
      .default([])
      .describe("as Django's ALLOWED_HOSTS: name, .example.com (the domain and its subdomains) or *"),
    cache,
    kubernetes,
    policy,
    headers,
    proxy,
    log,
    storeTimeout: seconds.positive().default(2).describe('seconds a session-store query may take'),
  })
  .refine((c) => !c.urlPrefix || !c.proxy.urlPrefix || c.urlPrefix === c.proxy.urlPrefix, {
    path: ['urlPrefix'],
    message: 'differs from proxy.urlPrefix (FLOWERGATE_PROXY_URL_PREFIX), its alias: set one of them',
  });

/** The URL prefix in force: `urlPrefix`, else its alias `proxy.urlPrefix`. */
export function effectiveUrlPrefix(config: Pick<Config, 'urlPrefix' | 'proxy'>): string {
  return config.urlPrefix || config.proxy.urlPrefix;
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;
export type DjangoConfig = Config['django'];
export type PolicyRule = z.output<typeof ruleSchema>;
