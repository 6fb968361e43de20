// Ways for the real @kubernetes/client-node to find the fake API server: a kubeconfig (string or file,
// as KUBECONFIG points at) and an in-cluster service-account directory with KUBERNETES_SERVICE_HOST/PORT.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface ClusterAccess {
  /** https://127.0.0.1:PORT */
  server: string;
  caPem: string;
  /** The bearer token flowergate presents to the API server. */
  token: string;
  namespace?: string;
}

export function kubeconfigYaml(access: ClusterAccess): string {
  const caData = Buffer.from(access.caPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${access.server}`,
    `    certificate-authority-data: ${caData}`,
    'users:',
    '- name: flowergate',
    '  user:',
    `    token: ${access.token}`,
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: flowergate',
    `    namespace: ${access.namespace ?? 'default'}`,
    'current-context: fake',
    '',
  ].join('\n');
}

export interface TempDir {
  path: string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'flowergate-kube-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes `config` in `dir` and returns its path, for loadFromFile or KUBECONFIG. */
export function writeKubeconfig(dir: string, access: ClusterAccess): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, kubeconfigYaml(access));
  return file;
}

export interface InClusterLayout {
  /** Prefix for loadFromCluster(prefix): the files are under `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`. */
  prefix: string;
  env: { KUBERNETES_SERVICE_HOST: string; KUBERNETES_SERVICE_PORT: string };
}

/** Lays out what the kubelet mounts in a pod: `token`, `ca.crt`, `namespace`. */
export function writeInClusterDir(dir: string, access: ClusterAccess): InClusterLayout {
  const serviceAccount = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
  mkdirSync(serviceAccount, { recursive: true });
  writeFileSync(join(serviceAccount, 'token'), access.token);
  writeFileSync(join(serviceAccount, 'ca.crt'), access.caPem);
  writeFileSync(join(serviceAccount, 'namespace'), access.namespace ?? 'flower');
  const url = new URL(access.server);
  return { prefix: dir, env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port } };
}

export function loadKubeConfigFromString(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

export function loadKubeConfigFromFile(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** loadFromCluster reads the environment only while it runs, so it is set just for that call. */
export function loadInClusterKubeConfig(layout: InClusterLayout): KubeConfig {
  return withEnv(layout.env, () => {
    const kc = new KubeConfig();
    kc.loadFromCluster(layout.prefix);
    return kc;
  });
}

/** Runs `fn` with these environment variables (undefined: unset), then restores them. Synchronous only. */
export function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return fn();
  } finally {
    apply(saved);
  }
}
