/**
 * What the kubelet would hand flowergate's container, from rendered objects: the environment in
 * order (valueFrom.secretKeyRef resolved, `$(VAR)` expanded as Kubernetes does), and the files of
 * its ConfigMap and Secret volumes. Secrets the chart does not render are given as plain maps.
 * Then the application's own loader reads it, as at start-up.
 */

import type { K8sObject } from '../../scripts/k8s/helm.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { container, podSpec } from './render-helpers.ts';

export type SecretData = Record<string, Record<string, string>>;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

/** The Secrets a pod can read: those rendered (base64 data decoded) and the given ones. */
function secretStore(objects: K8sObject[], given: SecretData): SecretData {
  const store: SecretData = { ...given };
  for (const o of objects.filter((o) => o.kind === 'Secret')) {
    store[o.metadata.name] = Object.fromEntries(
      Object.entries((o['data'] ?? {}) as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    );
  }
  return store;
}

/** `$(NAME)` of a variable defined earlier is replaced; anything else stays as written (Kubernetes' rule). */
const expand = (text: string, env: Record<string, string>) =>
  text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);

export function containerEnv(objects: K8sObject[], given: SecretData = {}, name = 'flowergate') {
  const store = secretStore(objects, given);
  const env: Record<string, string> = {};
  for (const e of container(objects, name).env as EnvVar[]) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.secretKeyRef) {
      const { name: secret, key, optional } = e.valueFrom.secretKeyRef;
      const value = store[secret]?.[key];
      if (value !== undefined) env[e.name] = value;
      else if (!optional)
        throw new Error(`${e.name}: Secret ${secret} has no key ${key}: the pod would not start`);
    } else throw new Error(`${e.name}: a source this helper does not resolve`);
  }
  return env;
}

export function containerFiles(objects: K8sObject[], given: SecretData = {}) {
  const store = secretStore(objects, given);
  const spec = podSpec(objects);
  const files = new Map<string, string>();
  const gate = container(objects, 'flowergate');
  for (const mount of gate.volumeMounts as { name: string; mountPath: string }[]) {
    const volume = spec.volumes.find((v: { name: string }) => v.name === mount.name);
    if (volume?.configMap) {
      const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume.configMap.name);
      for (const [key, text] of Object.entries((map?.['data'] ?? {}) as Record<string, string>))
        files.set(`${mount.mountPath}/${key}`, text);
    }
    if (volume?.secret) {
      const data = store[volume.secret.secretName];
      if (!data) throw new Error(`Secret ${volume.secret.secretName} is missing: the pod would not start`);
      for (const item of volume.secret.items as { key: string; path: string }[]) {
        const text = data[item.key];
        if (text === undefined) throw new Error(`Secret ${volume.secret.secretName} has no key ${item.key}`);
        files.set(`${mount.mountPath}/${item.path}`, text);
      }
    }
  }
  return files;
}

/** flowergate's configuration as the pod would load it; throws what flowergate would print. */
export function startupConfig(objects: K8sObject[], given: SecretData = {}): Config {
  const files = containerFiles(objects, given);
  return loadConfig({
    env: containerEnv(objects, given),
    readFile: (path) => {
      const text = files.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
      return text;
    },
  });
}
