// Shared setup for the kube tests: one PKI per test file, a fake API server per test, the kubernetes
// config section parsed by the real schema, and a clock tests move by hand.

import { type Config, type ConfigInput, configSchema } from '../../../src/config/schema.ts';
import { createKubeClient } from '../../../src/kube/kube-client.ts';
import { type FakeApiServer, type FakeApiServerOptions, startFakeApiServer } from './fake-apiserver.ts';
import { loadKubeConfigFromString } from './kubeconfig.ts';
import { createTestPki, type TestPki } from './pki.ts';

export type KubeConfigSection = Config['kubernetes'];

/** The `kubernetes` section as the schema fills it in (defaults included) from these overrides. */
export function kubernetesConfig(overrides: ConfigInput['kubernetes'] = {}): KubeConfigSection {
  return configSchema.parse({
    django: { secretKey: 'test-secret' },
    kubernetes: { tokenAuth: true, ...overrides },
  }).kubernetes;
}

let sharedPki: TestPki | undefined;

/** Made on first use and kept for the test file (each ava file runs in its own process). */
export function testPki(): TestPki {
  sharedPki ??= createTestPki();
  return sharedPki;
}

interface Teardown {
  teardown(fn: () => PromiseLike<void> | void): void;
}

export async function startApi(
  t: Teardown,
  options: Omit<FakeApiServerOptions, 'pki'> = {},
): Promise<FakeApiServer> {
  const api = await startFakeApiServer({ pki: testPki(), ...options });
  t.teardown(() => api.close());
  return api;
}

/**
 * The first request of a process pays for undici's start (its llhttp WebAssembly is compiled then):
 * about 50 ms idle, seconds on a loaded machine. Tests with short timeouts call this in test.before.
 */
export async function warmUpClient(): Promise<void> {
  const api = await startFakeApiServer({ pki: testPki() });
  const client = createKubeClient({
    kubeConfig: loadKubeConfigFromString(api.kubeconfig()),
    timeoutMs: 60_000,
  });
  try {
    await client.reviewToken({ token: 'warm-up' });
  } finally {
    await client.close();
    await api.close();
  }
}

export interface ManualClock {
  now(): number;
  advance(seconds: number): void;
}

export function manualClock(): ManualClock {
  let ms = 1_000_000;
  return {
    now: () => ms,
    advance: (seconds) => {
      ms += seconds * 1000;
    },
  };
}

/** Service-account users as a real cluster names them. */
export const PROMETHEUS = {
  username: 'system:serviceaccount:monitoring:prometheus',
  uid: '5b0e2c47-6a3e-4b8f-9d0e-1f2a3b4c5d6e',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:monitoring', 'system:authenticated'],
  extra: {
    'authentication.kubernetes.io/pod-name': ['prometheus-0'],
    'authentication.kubernetes.io/pod-uid': ['0f9e8d7c-6b5a-4321-8765-43210fedcba9'],
  },
};

export const CI_JOB = {
  username: 'system:serviceaccount:ci:deployer',
  uid: 'a1b2c3d4-0000-4000-8000-000000000001',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
  extra: {},
};

/** Token shapes like a projected service-account JWT; distinctive so a leak check can find them. */
export const PROMETHEUS_TOKEN =
  'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwcm9tZXRoZXVzIn0.c2VjcmV0LXByb21ldGhldXMtc2lnbmF0dXJl';
export const CI_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2VjcmV0LWNpLXNpZ25hdHVyZS14eXo';
