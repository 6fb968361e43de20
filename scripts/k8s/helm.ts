/**
 * Runs the pinned Helm 3 / Helm 4 binaries (see tools.ts) on the chart, offline, with a private
 * HELM_*_HOME, and parses what `helm template` renders.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureTool } from './tools.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(ROOT, 'helm/flowergate');
export const HELMS = ['helm3', 'helm4'] as const;
export type HelmVersion = (typeof HELMS)[number];

/** Every optional API the chart looks for, in the exact form its templates ask (`--api-versions` is an exact match). */
export const ALL_APIS = [
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PodMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'traefik.io/v1alpha1/Middleware',
  'gateway.networking.k8s.io/v1/HTTPRoute',
  'gateway.envoyproxy.io/v1alpha1/SecurityPolicy',
] as const;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are arbitrary JSON
  [key: string]: any;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let helmHome: string | undefined;
let valuesCounter = 0;

export function runHelm(version: HelmVersion, args: readonly string[]): Promise<HelmResult> {
  const binary = ensureTool(version);
  helmHome ??= mkdtempSync(join(tmpdir(), 'flowergate-helm-'));
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    KUBECONFIG: join(helmHome, 'no-kubeconfig'),
  };
  return new Promise((resolvePromise) => {
    execFile(binary, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export interface TemplateOptions {
  readonly valuesFiles?: readonly string[];
  /** Extra values (nested, as in a values file), applied after valuesFiles. */
  readonly values?: Record<string, unknown>;
  readonly apiVersions?: readonly string[];
  readonly namespace?: string;
  readonly release?: string;
  readonly extraArgs?: readonly string[];
}

export function templateArgs(options: TemplateOptions = {}): string[] {
  const args = [
    'template',
    options.release ?? 'flowergate',
    CHART,
    '--namespace',
    options.namespace ?? 'flowergate',
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  if (options.values) {
    helmHome ??= mkdtempSync(join(tmpdir(), 'flowergate-helm-'));
    const file = join(helmHome, `values-${++valuesCounter}.json`);
    writeFileSync(file, JSON.stringify(options.values));
    args.push('--values', file);
  }
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  args.push(...(options.extraArgs ?? []));
  return args;
}

export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return objects;
}

/** `helm template`, parsed; throws with Helm's message when rendering fails. */
export async function render(version: HelmVersion, options: TemplateOptions = {}): Promise<K8sObject[]> {
  const result = await runHelm(version, templateArgs(options));
  if (result.code !== 0) throw new Error(`helm template failed (${version}):\n${result.stderr}`);
  return parseManifests(result.stdout);
}
