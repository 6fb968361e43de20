/**
 * Writes helm/flowergate/values.schema.json (JSON Schema draft-07, self-contained, closed objects).
 *
 *   npx node scripts/k8s/values-schema.ts          # write
 *   npx node scripts/k8s/values-schema.ts --check  # exit 1 when the file is out of date
 *
 * The chart's own keys are described below. `config` (flowergate's configuration file) is derived
 * from the application's zod schema (src/config/schema.ts), minus the keys the chart sets itself,
 * so the chart accepts exactly the keys the application does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SCHEMA_PATH = join(ROOT, 'helm/flowergate/values.schema.json');

type Schema = Record<string, unknown>;

/** Keys of the application's configuration that the chart owns (secrets, addresses, the prefix's alias). */
const CHART_OWNED: readonly (readonly string[])[] = [
  ['django', 'secretKey'],
  ['django', 'secretKeyFallbacks'],
  ['django', 'databaseUrl'],
  ['upstream'],
  ['listen'],
  ['adminListen'],
  ['proxy', 'urlPrefix'],
];

// ---- small builders -------------------------------------------------------------------------

const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const bool = (): Schema => ({ type: 'boolean' });
const int = (extra: Schema = {}): Schema => ({ type: 'integer', ...extra });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: 'null' }] });
const arrayOf = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });
const stringMap = (): Schema => ({ type: 'object', additionalProperties: { type: 'string' } });
const openObject = (): Schema => ({ type: 'object' });
const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
const closed = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
  additionalProperties: false,
});
const describe = (description: string, schema: Schema): Schema => ({ description, ...schema });

const duration = str({ pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$' });
const secretKeyName = str({ minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' });
const dnsName = str({ maxLength: 253, pattern: '^$|^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' });
const triState = describe('true, false, or auto (on when the cluster serves the API)', {
  enum: ['auto', true, false],
});
const quantity = { anyOf: [str({ pattern: '^[0-9.]+[a-zA-Z]*$' }), { type: 'number' }] };
const intOrPercent = { anyOf: [int({ minimum: 0 }), str({ pattern: '^[0-9]+%$' })] };

const definitions: Record<string, Schema> = {
  image: closed({
    registry: str(),
    repository: str({ minLength: 1 }),
    tag: str({ pattern: '^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' }),
    digest: str({ pattern: '^$|^sha256:[a-f0-9]{64}$' }),
    pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
  }),
  resources: closed({
    requests: { type: 'object', additionalProperties: quantity },
    limits: { type: 'object', additionalProperties: quantity },
    claims: arrayOf(closed({ name: str(), request: str() }, ['name'])),
  }),
  capabilities: closed({ add: arrayOf(str()), drop: arrayOf(str()) }),
  seccompProfile: closed(
    { type: { enum: ['RuntimeDefault', 'Localhost', 'Unconfined'] }, localhostProfile: str() },
    ['type'],
  ),
  securityContext: closed({
    allowPrivilegeEscalation: bool(),
    appArmorProfile: openObject(),
    capabilities: ref('capabilities'),
    privileged: bool(),
    procMount: str(),
    readOnlyRootFilesystem: bool(),
    runAsGroup: int({ minimum: 0 }),
    runAsNonRoot: bool(),
    runAsUser: int({ minimum: 0 }),
    seLinuxOptions: openObject(),
    seccompProfile: ref('seccompProfile'),
    windowsOptions: openObject(),
  }),
  podSecurityContext: closed({
    appArmorProfile: openObject(),
    fsGroup: int({ minimum: 0 }),
    fsGroupChangePolicy: { enum: ['Always', 'OnRootMismatch'] },
    runAsGroup: int({ minimum: 0 }),
    runAsNonRoot: bool(),
    runAsUser: int({ minimum: 0 }),
    seLinuxChangePolicy: str(),
    seLinuxOptions: openObject(),
    seccompProfile: ref('seccompProfile'),
    supplementalGroups: arrayOf(int({ minimum: 0 })),
    supplementalGroupsPolicy: str(),
    sysctls: arrayOf(closed({ name: str(), value: str() }, ['name', 'value'])),
    windowsOptions: openObject(),
  }),
  probe: closed({
    exec: closed({ command: arrayOf(str()) }),
    httpGet: closed(
      {
        path: str(),
        port: { anyOf: [int({ minimum: 1, maximum: 65535 }), str()] },
        host: str(),
        scheme: { enum: ['HTTP', 'HTTPS'] },
        httpHeaders: arrayOf(closed({ name: str(), value: str() }, ['name', 'value'])),
      },
      ['port'],
    ),
    tcpSocket: closed({ port: { anyOf: [int(), str()] }, host: str() }, ['port']),
    grpc: closed({ port: int(), service: str() }, ['port']),
    initialDelaySeconds: int({ minimum: 0 }),
    periodSeconds: int({ minimum: 1 }),
    timeoutSeconds: int({ minimum: 1 }),
    successThreshold: int({ minimum: 1 }),
    failureThreshold: int({ minimum: 1 }),
    terminationGracePeriodSeconds: int({ minimum: 1 }),
  }),
  envVar: closed({ name: str({ minLength: 1 }), value: str(), valueFrom: openObject() }, ['name']),
  volumeMount: closed(
    {
      name: str({ minLength: 1 }),
      mountPath: str({ minLength: 1 }),
      subPath: str(),
      subPathExpr: str(),
      readOnly: bool(),
      recursiveReadOnly: str(),
      mountPropagation: str(),
    },
    ['name', 'mountPath'],
  ),
  volume: { type: 'object', properties: { name: str({ minLength: 1 }) }, required: ['name'] },
  // An EnvVarSource: {} (unset) or exactly one of its four kinds.
  envVarSource: {
    anyOf: [
      closed({}),
      closed(
        {
          secretKeyRef: closed({ name: dnsName, key: secretKeyName, optional: bool() }, ['name', 'key']),
        },
        ['secretKeyRef'],
      ),
      closed(
        {
          configMapKeyRef: closed({ name: dnsName, key: secretKeyName, optional: bool() }, ['name', 'key']),
        },
        ['configMapKeyRef'],
      ),
      closed({ fieldRef: openObject() }, ['fieldRef']),
      closed({ resourceFieldRef: openObject() }, ['resourceFieldRef']),
    ],
  },
  // One part of the database URL: {} (unset), a literal value, or an EnvVarSource.
  urlPart: {
    anyOf: [
      closed({}),
      closed({ value: { anyOf: [str({ minLength: 1 }), int({ minimum: 1 })] } }, ['value']),
      closed({ valueFrom: openObject() }, ['valueFrom']),
    ],
  },
  envFromSource: closed({
    prefix: str(),
    configMapRef: closed({ name: dnsName, optional: bool() }, ['name']),
    secretRef: closed({ name: dnsName, optional: bool() }, ['name']),
  }),
  networkPolicyPeer: closed({
    podSelector: openObject(),
    namespaceSelector: openObject(),
    ipBlock: openObject(),
  }),
};

// ---- the chart's values ---------------------------------------------------------------------

const chartProperties: Record<string, Schema> = {
  mode: describe('sidecar: Flower and flowergate in one pod; forward-auth: a standalone flowergate', {
    enum: ['sidecar', 'forward-auth'],
  }),
  replicaCount: nullable(int({ minimum: 1 })),
  nameOverride: str({ maxLength: 63 }),
  fullnameOverride: str({ maxLength: 63 }),
  commonLabels: stringMap(),
  image: ref('image'),
  imagePullSecrets: arrayOf(closed({ name: str({ minLength: 1 }) }, ['name'])),
  secrets: closed({
    existingSecret: dnsName,
    keys: closed(
      {
        djangoSecretKey: secretKeyName,
        djangoSecretKeyFallbacks: secretKeyName,
        djangoDatabaseUrl: secretKeyName,
        celeryBrokerUrl: secretKeyName,
      },
      ['djangoSecretKey', 'djangoSecretKeyFallbacks', 'djangoDatabaseUrl', 'celeryBrokerUrl'],
    ),
    djangoSecretKey: str(),
    djangoSecretKeyFallbacks: arrayOf(str({ minLength: 1, pattern: '^[^,]*$' })),
    djangoDatabaseUrl: str({
      pattern: '^$|^(sqlite|postgres|postgresql|pgsql|psql|postgis|mysql|mysql2|mariadb)://',
    }),
    celeryBrokerUrl: str(),
    valueFrom: closed({
      djangoSecretKey: ref('envVarSource'),
      djangoSecretKeyFallbacks: ref('envVarSource'),
      djangoDatabaseUrl: ref('envVarSource'),
      celeryBrokerUrl: ref('envVarSource'),
    }),
    databaseUrlParts: closed({
      scheme: { enum: ['', 'postgres', 'postgresql', 'mysql', 'mariadb'] },
      host: ref('urlPart'),
      port: ref('urlPart'),
      name: ref('urlPart'),
      user: ref('urlPart'),
      password: ref('urlPart'),
      options: str({ pattern: '^[^?#]*$' }),
    }),
  }),
  config: {}, // filled from the application's schema below
  flower: closed({
    image: ref('image'),
    command: arrayOf(str({ minLength: 1 }), { minItems: 1 }),
    extraArgs: arrayOf(str()),
    port: int({ minimum: 1024, maximum: 65535, not: { enum: [4180, 9464] } }),
    urlPrefix: str({ pattern: '^(/[^/?#]+)*$' }),
    env: arrayOf(ref('envVar')),
    resources: ref('resources'),
    securityContext: ref('securityContext'),
    livenessProbe: nullable(ref('probe')),
    readinessProbe: nullable(ref('probe')),
    volumeMounts: arrayOf(ref('volumeMount')),
  }),
  listen: closed({
    ipFamily: describe('IPv4: 0.0.0.0; IPv6 and dual: [::] (IPv4 mapped where the kernel allows)', {
      enum: ['IPv4', 'IPv6', 'dual'],
    }),
    address: str({ pattern: '^$|^[0-9a-fA-F:.]+$' }),
  }),
  service: closed({
    type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
    port: int({ minimum: 1, maximum: 65535 }),
    annotations: stringMap(),
  }),
  ingress: closed({
    enabled: bool(),
    controller: { enum: ['ingress-nginx', 'traefik'] },
    className: str(),
    host: str({ pattern: '^$|^(\\*\\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' }),
    path: str({ pattern: '^$|^/' }),
    pathType: { enum: ['Prefix', 'Exact', 'ImplementationSpecific'] },
    tls: arrayOf(closed({ hosts: arrayOf(str()), secretName: str() })),
    annotations: stringMap(),
    whoami: bool(),
    nginx: closed({
      authKeepalive: int({ minimum: 0, maximum: 10000 }),
      authKeepaliveRequests: int({ minimum: 1 }),
      authKeepaliveTimeout: int({ minimum: 1 }),
      authCacheSeconds: int({ minimum: 0, maximum: 3600 }),
      hygieneSnippets: bool(),
    }),
    flowerService: closed({ name: dnsName, port: { anyOf: [int({ minimum: 1, maximum: 65535 }), str()] } }),
  }),
  httpRoute: closed({
    enabled: bool(),
    parentRefs: arrayOf(
      closed(
        {
          group: str(),
          kind: str(),
          namespace: str(),
          name: str({ minLength: 1 }),
          sectionName: str(),
          port: int(),
        },
        ['name'],
      ),
    ),
    hostnames: arrayOf(str()),
    path: str({ pattern: '^$|^/' }),
    annotations: stringMap(),
    externalAuth: bool(),
    hygiene: bool(),
    flowerService: closed({ name: dnsName, port: int({ minimum: 1, maximum: 65535 }) }),
  }),
  traefik: closed({ middleware: closed({ enabled: triState, trustForwardHeader: bool(), hygiene: bool() }) }),
  envoyGateway: closed({
    securityPolicy: closed({
      enabled: bool(),
      namespace: dnsName,
      targetRefs: arrayOf(
        closed(
          { group: str(), kind: str({ minLength: 1 }), name: str({ minLength: 1 }), sectionName: str() },
          ['kind', 'name'],
        ),
      ),
      headersToExtAuth: arrayOf(str({ pattern: '^[a-z0-9-]+$' })),
      timeout: { anyOf: [{ const: '' }, duration] },
    }),
  }),
  metrics: closed({
    enabled: bool(),
    serviceMonitor: closed({
      enabled: triState,
      interval: duration,
      scrapeTimeout: duration,
      labels: stringMap(),
      relabelings: arrayOf(openObject()),
      metricRelabelings: arrayOf(openObject()),
    }),
    podMonitor: closed({ enabled: bool(), interval: duration, labels: stringMap() }),
    prometheusRule: closed({ enabled: triState, labels: stringMap() }),
    grafanaDashboard: closed({
      enabled: bool(),
      namespace: dnsName,
      labels: stringMap(),
      annotations: stringMap(),
    }),
  }),
  serviceAccount: closed({ create: bool(), name: dnsName, annotations: stringMap() }),
  rbac: closed({ create: bool(), useAuthDelegator: bool() }),
  podAnnotations: stringMap(),
  podLabels: stringMap(),
  priorityClassName: str(),
  podSecurityContext: ref('podSecurityContext'),
  securityContext: ref('securityContext'),
  resources: ref('resources'),
  livenessProbe: nullable(ref('probe')),
  readinessProbe: nullable(ref('probe')),
  startupProbe: nullable(ref('probe')),
  preStopDelaySeconds: int({ minimum: 0, maximum: 300 }),
  terminationGracePeriodSeconds: nullable(int({ minimum: 0 })),
  extraEnv: arrayOf(ref('envVar')),
  envFrom: arrayOf(ref('envFromSource')),
  extraObjects: arrayOf({ anyOf: [openObject(), str()] }),
  extraVolumes: arrayOf(ref('volume')),
  extraVolumeMounts: arrayOf(ref('volumeMount')),
  podDisruptionBudget: closed({
    enabled: bool(),
    minAvailable: nullable(intOrPercent),
    maxUnavailable: nullable(intOrPercent),
  }),
  autoscaling: closed({
    enabled: bool(),
    minReplicas: int({ minimum: 1 }),
    maxReplicas: int({ minimum: 1 }),
    targetCPUUtilizationPercentage: nullable(int({ minimum: 1 })),
    targetMemoryUtilizationPercentage: nullable(int({ minimum: 1 })),
  }),
  topologySpreadConstraints: nullable(
    arrayOf(
      closed(
        {
          maxSkew: int({ minimum: 1 }),
          topologyKey: str({ minLength: 1 }),
          whenUnsatisfiable: { enum: ['DoNotSchedule', 'ScheduleAnyway'] },
          labelSelector: openObject(),
          minDomains: int({ minimum: 1 }),
          matchLabelKeys: arrayOf(str()),
          nodeAffinityPolicy: { enum: ['Honor', 'Ignore'] },
          nodeTaintsPolicy: { enum: ['Honor', 'Ignore'] },
        },
        ['maxSkew', 'topologyKey', 'whenUnsatisfiable'],
      ),
    ),
  ),
  affinity: closed({ nodeAffinity: openObject(), podAffinity: openObject(), podAntiAffinity: openObject() }),
  nodeSelector: stringMap(),
  tolerations: arrayOf(
    closed({
      key: str(),
      operator: { enum: ['Exists', 'Equal'] },
      value: str(),
      effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute', ''] },
      tolerationSeconds: int(),
    }),
  ),
  networkPolicy: closed({
    enabled: bool(),
    ingressPresets: arrayOf(
      { enum: ['ingress-nginx', 'traefik', 'traefik-k3s', 'envoy-gateway', 'istio'] },
      {
        uniqueItems: true,
      },
    ),
    ingressFrom: arrayOf(ref('networkPolicyPeer')),
    metricsFrom: arrayOf(ref('networkPolicyPeer')),
    egress: arrayOf(closed({ to: arrayOf(ref('networkPolicyPeer')), ports: arrayOf(openObject()) })),
    flower: closed({
      podSelector: stringMap(),
      port: { anyOf: [int({ minimum: 1, maximum: 65535 }), str()] },
    }),
  }),
  tests: closed({ enabled: bool() }),
};

// ---- flowergate's configuration, from the application's schema -------------------------------

/** Removes zod's defaults (Helm does not apply them; some are machine-dependent) and non-standard formats. */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'default' || key === '$schema') continue;
    if (key === 'format' && value !== 'uri') continue;
    // `properties` maps property names (one of them may be called "default") to schemas.
    out[key] =
      key === 'properties' && value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).map(([name, child]) => [name, clean(child)]))
        : clean(value);
  }
  return out;
}

function removePath(schema: Schema, path: readonly string[]): void {
  let node = schema;
  for (const segment of path.slice(0, -1)) {
    const next = (node.properties as Record<string, Schema> | undefined)?.[segment];
    if (!next) return; // a key this version of the application does not have
    node = next;
  }
  const last = path[path.length - 1]!;
  delete (node.properties as Record<string, Schema>)[last];
  if (Array.isArray(node.required)) {
    node.required = node.required.filter((name) => name !== last);
    if ((node.required as string[]).length === 0) delete node.required;
  }
}

export function configValuesSchema(): Schema {
  const generated = clean(
    z.toJSONSchema(configSchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }),
  ) as Schema;
  for (const path of CHART_OWNED) removePath(generated, path);
  return {
    description:
      "flowergate's configuration file (generated from src/config/schema.ts; the chart sets the secrets, upstream, listen, adminListen and proxy.urlPrefix; urlPrefix is flower.urlPrefix in sidecar mode)",
    ...generated,
  };
}

export function valuesSchema(): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'flowergate Helm chart values',
    type: 'object',
    properties: { ...chartProperties, config: configValuesSchema() },
    required: ['mode', 'image', 'secrets', 'config', 'flower', 'service', 'metrics', 'networkPolicy'],
    additionalProperties: false,
    definitions,
  };
}

export function renderValuesSchema(): string {
  return `${JSON.stringify(valuesSchema(), null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = renderValuesSchema();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(SCHEMA_PATH, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`${SCHEMA_PATH} is out of date: run npx node scripts/k8s/values-schema.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(SCHEMA_PATH, text);
    console.log(`wrote ${SCHEMA_PATH}`);
  }
}
