/** Shared by the render*.test.ts files: fixed values and small accessors for rendered objects. */
import { ALL_APIS, type K8sObject, render } from '../../scripts/k8s/helm.ts';

export { ALL_APIS };
export const SECRET_KEY = 'sk-7f3a9c-unmistakable-secret-key';
export const DATABASE_URL = 'postgres://flowergate:pw-91b2-unmistakable@db.internal:5432/app';
export const BROKER_URL = 'redis://:pw-5e0d-unmistakable@redis.internal:6379/0';
export const FALLBACK = 'old-9d41-unmistakable-key';

export const sidecar = {
  mode: 'sidecar',
  secrets: { djangoSecretKey: SECRET_KEY, djangoDatabaseUrl: DATABASE_URL, celeryBrokerUrl: BROKER_URL },
};
export const forwardAuth = {
  mode: 'forward-auth',
  secrets: {
    djangoSecretKey: SECRET_KEY,
    djangoDatabaseUrl: DATABASE_URL,
    djangoSecretKeyFallbacks: [FALLBACK],
  },
};

export const renderWith = (values: Record<string, unknown>, apiVersions: readonly string[] = []) =>
  render('helm4', { values, apiVersions });
export const one = (objects: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1)
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
};
export const kinds = (objects: K8sObject[]) => objects.map((o) => o.kind);
export const podSpec = (objects: K8sObject[]) => one(objects, 'Deployment').spec.template.spec;
// biome-ignore lint/suspicious/noExplicitAny: rendered containers are arbitrary JSON
export const container = (objects: K8sObject[], name: string): any =>
  podSpec(objects).containers.find((c: { name: string }) => c.name === name);
