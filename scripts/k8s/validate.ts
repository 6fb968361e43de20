/**
 * Validates rendered Kubernetes objects offline.
 *
 * - Kinds with a model in kubernetes-models (+ Prometheus Operator and Traefik models): the model's
 *   JSON-schema validation (types, required fields, enums). These schemas do not reject unknown
 *   fields.
 * - Kinds without a model (Gateway API HTTPRoute/ReferenceGrant, Envoy Gateway SecurityPolicy):
 *   hand-written structural checks of the fields the chart renders, closed (unknown keys fail),
 *   written from the upstream API types (gateway-api apis/v1, envoyproxy/gateway api/v1alpha1).
 * - Every object: metadata.name is a DNS subdomain (a DNS label for Services), label values are
 *   valid.
 *
 *   npx node scripts/k8s/validate.ts file.yaml…     # or: helm template … | npx node scripts/k8s/validate.ts
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as promOp from '@kubernetes-models/prometheus-operator';
import * as traefik from '@kubernetes-models/traefik';
import * as core from 'kubernetes-models';
import type { K8sObject } from './helm.ts';
import { parseManifests } from './helm.ts';

interface Model {
  new (data: unknown): { validate(): void };
  apiVersion: string;
  kind: string;
}

const registry = new Map<string, Model>();
(function walk(namespace: unknown, seen: Set<unknown>) {
  if (!namespace || typeof namespace !== 'object' || seen.has(namespace)) return;
  seen.add(namespace);
  for (const value of Object.values(namespace)) {
    if (
      typeof value === 'function' &&
      typeof value.apiVersion === 'string' &&
      typeof value.kind === 'string'
    ) {
      registry.set(`${value.apiVersion}/${value.kind}`, value as Model);
    } else {
      walk(value, seen);
    }
  }
})({ core, promOp, traefik }, new Set());

type Check = (object: K8sObject) => string[];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isPort = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const DURATION = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

function closedKeys(where: string, value: unknown, allowed: readonly string[]): string[] {
  if (!isObject(value)) return [`${where} must be an object`];
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .map((key) => `${where}.${key} is not a field of this API`);
}

function each<T>(
  where: string,
  list: unknown,
  check: (item: T, at: string) => string[],
  minItems = 0,
): string[] {
  if (!Array.isArray(list)) return [`${where} must be an array`];
  if (list.length < minItems) return [`${where} needs at least ${minItems} item(s)`];
  return list.flatMap((item, i) => check(item as T, `${where}[${i}]`));
}

const checkParentRef = (ref: unknown, at: string): string[] => [
  ...closedKeys(at, ref, ['group', 'kind', 'namespace', 'name', 'sectionName', 'port']),
  ...(isObject(ref) && isString(ref['name']) ? [] : [`${at}.name is required`]),
];

const checkBackendRef = (ref: unknown, at: string): string[] => [
  ...closedKeys(at, ref, ['group', 'kind', 'namespace', 'name', 'port', 'weight']),
  ...(isObject(ref) && isString(ref['name']) ? [] : [`${at}.name is required`]),
  ...(isObject(ref) && isPort(ref['port']) ? [] : [`${at}.port must be an integer 1-65535`]),
];

const isHeaderList = (v: unknown) =>
  Array.isArray(v) && v.every((h) => isString(h) && /^[A-Za-z0-9-]+$/.test(h));

/** ResponseHeaderModifier (HTTPHeaderFilter): the chart only removes headers. */
const checkResponseHeaderModifier = (filter: Record<string, unknown>, at: string): string[] => {
  const modifier = filter['responseHeaderModifier'];
  return [
    ...closedKeys(at, filter, ['type', 'responseHeaderModifier']),
    ...closedKeys(`${at}.responseHeaderModifier`, modifier, ['remove']),
    ...(isObject(modifier) && isHeaderList(modifier['remove'])
      ? []
      : [`${at}.responseHeaderModifier.remove must be a list of header names`]),
  ];
};

/** An HTTPRoute filter; of the types, the chart uses ExternalAuth (GEP-1494, HTTPExternalAuthFilter) and ResponseHeaderModifier. */
const checkFilter = (filter: unknown, at: string): string[] => {
  if (isObject(filter) && filter['type'] === 'ResponseHeaderModifier')
    return checkResponseHeaderModifier(filter, at);
  if (!isObject(filter) || filter['type'] !== 'ExternalAuth')
    return [`${at}.type: the chart renders only ExternalAuth and ResponseHeaderModifier filters`];
  const auth = filter['externalAuth'];
  const http = isObject(auth) ? auth['http'] : undefined;
  return [
    ...closedKeys(at, filter, ['type', 'externalAuth']),
    ...closedKeys(`${at}.externalAuth`, auth, ['protocol', 'backendRef', 'http', 'grpc', 'forwardBody']),
    ...(isObject(auth) && ['HTTP', 'GRPC'].includes(auth['protocol'] as string)
      ? []
      : [`${at}.externalAuth.protocol must be HTTP or GRPC`]),
    ...(isObject(auth) ? checkBackendRef(auth['backendRef'], `${at}.externalAuth.backendRef`) : []),
    ...(http === undefined
      ? []
      : [
          ...closedKeys(`${at}.externalAuth.http`, http, [
            'path',
            'allowedHeaders',
            'allowedResponseHeaders',
          ]),
          ...(isObject(http) &&
          (http['path'] === undefined || (isString(http['path']) && http['path'].startsWith('/')))
            ? []
            : [`${at}.externalAuth.http.path must start with /`]),
          ...(['allowedHeaders', 'allowedResponseHeaders'] as const).flatMap((key) =>
            isObject(http) && http[key] !== undefined && !isHeaderList(http[key])
              ? [`${at}.externalAuth.http.${key} must be a list of header names`]
              : [],
          ),
        ]),
  ];
};

/** gateway.networking.k8s.io/v1 HTTPRoute (the fields the chart uses; sigs.k8s.io/gateway-api apis/v1/httproute_types.go). */
const checkHTTPRoute: Check = (o) => {
  const spec = o['spec'];
  const errors = closedKeys('spec', spec, ['parentRefs', 'hostnames', 'rules']);
  if (!isObject(spec)) return errors;
  errors.push(...each('spec.parentRefs', spec['parentRefs'], checkParentRef, 1));
  if (spec['hostnames'] !== undefined) {
    errors.push(
      ...each('spec.hostnames', spec['hostnames'], (h, at) =>
        isString(h) ? [] : [`${at} must be a string`],
      ),
    );
  }
  errors.push(
    ...each(
      'spec.rules',
      spec['rules'],
      (rule, at) => [
        ...closedKeys(at, rule, ['name', 'matches', 'filters', 'backendRefs', 'timeouts']),
        ...(isObject(rule)
          ? [
              ...each(`${at}.matches`, rule['matches'], (m, mat) => {
                const path = isObject(m) ? m['path'] : undefined;
                return [
                  ...closedKeys(mat, m, ['path', 'headers', 'queryParams', 'method']),
                  ...closedKeys(`${mat}.path`, path, ['type', 'value']),
                  ...(isObject(path) &&
                  ['Exact', 'PathPrefix', 'RegularExpression'].includes(path['type'] as string)
                    ? []
                    : [`${mat}.path.type must be Exact, PathPrefix or RegularExpression`]),
                  ...(isObject(path) && typeof path['value'] === 'string' && path['value'].startsWith('/')
                    ? []
                    : [`${mat}.path.value must start with /`]),
                ];
              }),
              ...(rule['filters'] === undefined ? [] : each(`${at}.filters`, rule['filters'], checkFilter)),
              ...each(`${at}.backendRefs`, rule['backendRefs'], checkBackendRef, 1),
            ]
          : []),
      ],
      1,
    ),
  );
  return errors;
};

/** gateway.networking.k8s.io/v1beta1 ReferenceGrant (apis/v1beta1/referencegrant_types.go). */
const checkReferenceGrant: Check = (o) => {
  const spec = o['spec'];
  const errors = closedKeys('spec', spec, ['from', 'to']);
  if (!isObject(spec)) return errors;
  errors.push(
    ...each(
      'spec.from',
      spec['from'],
      (f, at) => [
        ...closedKeys(at, f, ['group', 'kind', 'namespace']),
        ...(isObject(f) && typeof f['group'] === 'string' && isString(f['kind']) && isString(f['namespace'])
          ? []
          : [`${at} needs group, kind and namespace`]),
      ],
      1,
    ),
    ...each(
      'spec.to',
      spec['to'],
      (t, at) => [
        ...closedKeys(at, t, ['group', 'kind', 'name']),
        ...(isObject(t) && typeof t['group'] === 'string' && isString(t['kind'])
          ? []
          : [`${at} needs group and kind`]),
      ],
      1,
    ),
  );
  return errors;
};

/** gateway.envoyproxy.io/v1alpha1 SecurityPolicy with extAuth (api/v1alpha1/securitypolicy_types.go, ext_auth_types.go). */
const checkSecurityPolicy: Check = (o) => {
  const spec = o['spec'];
  const errors = closedKeys('spec', spec, [
    'targetRef',
    'targetRefs',
    'targetSelectors',
    'cors',
    'basicAuth',
    'apiKeyAuth',
    'jwt',
    'oidc',
    'extAuth',
    'authorization',
  ]);
  if (!isObject(spec)) return errors;
  errors.push(
    ...each(
      'spec.targetRefs',
      spec['targetRefs'],
      (ref, at) => [
        ...closedKeys(at, ref, ['group', 'kind', 'name', 'sectionName']),
        ...(isObject(ref) &&
        typeof ref['group'] === 'string' &&
        isString(ref['kind']) &&
        isString(ref['name'])
          ? []
          : [`${at} needs group, kind and name`]),
      ],
      1,
    ),
  );
  const ext = spec['extAuth'];
  errors.push(
    ...closedKeys('spec.extAuth', ext, [
      'grpc',
      'http',
      'headersToExtAuth',
      'bodyToExtAuth',
      'failOpen',
      'recomputeRoute',
      'timeout',
      'contextExtensions',
    ]),
  );
  if (!isObject(ext)) return errors;
  if ((ext['http'] === undefined) === (ext['grpc'] === undefined))
    errors.push('spec.extAuth needs exactly one of http, grpc');
  if (ext['failOpen'] !== undefined && typeof ext['failOpen'] !== 'boolean')
    errors.push('spec.extAuth.failOpen must be a boolean');
  if (
    ext['timeout'] !== undefined &&
    !(typeof ext['timeout'] === 'string' && DURATION.test(ext['timeout']))
  ) {
    errors.push('spec.extAuth.timeout must be a duration such as 2s');
  }
  errors.push(
    ...each('spec.extAuth.headersToExtAuth', ext['headersToExtAuth'] ?? [], (h, at) =>
      typeof h === 'string' && /^[a-z0-9-]+$/.test(h) ? [] : [`${at} must be a lower-case header name`],
    ),
  );
  const http = ext['http'];
  if (http !== undefined) {
    errors.push(
      ...closedKeys('spec.extAuth.http', http, [
        'backendRef',
        'backendRefs',
        'backendSettings',
        'path',
        'headersToBackend',
      ]),
    );
    if (isObject(http)) {
      errors.push(...each('spec.extAuth.http.backendRefs', http['backendRefs'], checkBackendRef, 1));
      if (!(typeof http['path'] === 'string' && http['path'].startsWith('/')))
        errors.push('spec.extAuth.http.path must start with /');
      errors.push(
        ...each('spec.extAuth.http.headersToBackend', http['headersToBackend'] ?? [], (h, at) =>
          isString(h) ? [] : [`${at} must be a header name`],
        ),
      );
    }
  }
  return errors;
};

/** Kinds with no model in kubernetes-models, checked by hand instead. */
export const STRUCTURAL_CHECKS: Record<string, Check> = {
  'gateway.networking.k8s.io/v1/HTTPRoute': checkHTTPRoute,
  'gateway.networking.k8s.io/v1beta1/ReferenceGrant': checkReferenceGrant,
  'gateway.envoyproxy.io/v1alpha1/SecurityPolicy': checkSecurityPolicy,
};

function checkMetadata(object: K8sObject): string[] {
  const errors: string[] = [];
  const name = object.metadata?.name;
  const pattern = object.kind === 'Service' ? DNS_LABEL : DNS_SUBDOMAIN;
  if (typeof name !== 'string' || !pattern.test(name))
    errors.push(`metadata.name ${JSON.stringify(name)} is not a valid ${object.kind} name`);
  for (const [key, value] of Object.entries(object.metadata?.labels ?? {})) {
    if (typeof value !== 'string' || !LABEL_VALUE.test(value))
      errors.push(`label ${key}=${JSON.stringify(value)} is not a valid label value`);
  }
  for (const [key, value] of Object.entries(object.metadata?.annotations ?? {})) {
    if (typeof value !== 'string') errors.push(`annotation ${key} must be a string, got ${typeof value}`);
  }
  return errors;
}

export type Validation = { readonly by: 'model' | 'structural'; readonly errors: readonly string[] };

/** Validates one object; an object with neither a model nor a structural check is an error. */
export function validateObject(object: K8sObject): Validation {
  const id = `${object?.apiVersion}/${object?.kind}`;
  const errors = checkMetadata(object);
  const Model = registry.get(id);
  if (Model) {
    try {
      new Model(object).validate();
    } catch (error) {
      errors.push((error as Error).message);
    }
    return { by: 'model', errors };
  }
  const check = STRUCTURAL_CHECKS[id];
  if (check) return { by: 'structural', errors: [...errors, ...check(object)] };
  return { by: 'structural', errors: [...errors, `no schema or structural check for ${id}`] };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  const text = files.length
    ? files.map((f) => readFileSync(f, 'utf8')).join('\n---\n')
    : readFileSync(0, 'utf8');
  let bad = 0;
  for (const object of parseManifests(text)) {
    const { by, errors } = validateObject(object);
    if (errors.length) bad++;
    console.log(
      `${errors.length ? 'FAIL' : 'ok  '} ${object.apiVersion}/${object.kind} ${object.metadata?.name} (${by}) ${errors.join('; ')}`,
    );
  }
  process.exitCode = bad ? 1 : 0;
}
