/**
 * Unit tests of what the chart renders (Helm 4; chart.test.ts renders every CI file with Helm 3
 * too): the two topologies, RBAC, secrets, rollouts on config changes, hardening, probes.
 */
import test from 'ava';
import {
  ALL_APIS,
  BROKER_URL,
  container,
  DATABASE_URL,
  FALLBACK,
  forwardAuth,
  kinds,
  one,
  podSpec,
  renderWith,
  SECRET_KEY,
  sidecar,
} from './render-helpers.ts';

test('sidecar: Flower binds 127.0.0.1 on its own port, exposes no port, and runs with its API open to flowergate only', async (t) => {
  const objects = await renderWith(sidecar);
  const flower = container(objects, 'flower');
  t.truthy(flower);
  t.true(flower.args.includes('--address=127.0.0.1'));
  t.true(flower.args.includes('--port=5555'));
  t.true(flower.args.includes('--url_prefix=flower'));
  t.is(flower.ports, undefined);
  const env = Object.fromEntries(flower.env.map((e: { name: string }) => [e.name, e]));
  t.is(env['FLOWER_UNAUTHENTICATED_API'].value, 'true');
  t.deepEqual(env['CELERY_BROKER_URL'].valueFrom.secretKeyRef, {
    name: 'flowergate',
    key: 'celery-broker-url',
  });
  const gate = container(objects, 'flowergate');
  const gateEnv = Object.fromEntries(
    gate.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
  );
  t.is(gateEnv['FLOWERGATE_UPSTREAM'], 'http://127.0.0.1:5555');
  t.is(gateEnv['FLOWERGATE_URL_PREFIX'], '/flower');
  t.false('FLOWERGATE_PROXY_URL_PREFIX' in gateEnv, 'the alias is not set too');
});

test('sidecar: the Service exposes only flowergate, never Flower or the admin port', async (t) => {
  const variants: Record<string, unknown>[] = [
    sidecar,
    { ...sidecar, flower: { port: 5566, urlPrefix: '' } },
  ];
  for (const values of variants) {
    const objects = await renderWith(values);
    const service = one(objects, 'Service', 'flowergate');
    t.deepEqual(
      service.spec.ports.map((p: { targetPort: string }) => p.targetPort),
      ['http'],
    );
    const gatePorts = container(objects, 'flowergate').ports;
    t.deepEqual(
      gatePorts.find((p: { name: string }) => p.name === 'http'),
      { name: 'http', containerPort: 4180, protocol: 'TCP' },
    );
    // The metrics Service carries the admin port only.
    t.deepEqual(
      one(objects, 'Service', 'flowergate-metrics').spec.ports.map(
        (p: { targetPort: string }) => p.targetPort,
      ),
      ['admin'],
    );
    // Nothing anywhere targets Flower's port.
    const flowerPort = String((values['flower'] as { port?: number } | undefined)?.port ?? 5555);
    for (const svc of objects.filter((o) => o.kind === 'Service')) {
      for (const port of svc.spec.ports) t.not(String(port.targetPort), flowerPort);
    }
  }
});

test('forward-auth: no Flower container, two replicas by default, Flower-side wiring points at flowergate', async (t) => {
  const objects = await renderWith(forwardAuth, ALL_APIS);
  t.is(container(objects, 'flower'), undefined);
  t.is(one(objects, 'Deployment').spec.replicas, 2);
  t.false(podSpec(objects).containers[0].env.some((e: { name: string }) => e.name === 'FLOWERGATE_UPSTREAM'));
  const middleware = one(objects, 'Middleware', 'flowergate');
  t.is(
    middleware.spec.forwardAuth.address,
    'http://flowergate.flowergate.svc.cluster.local:4180/_flowergate/auth/forward',
  );
  t.deepEqual(middleware.spec.forwardAuth.authResponseHeaders, [
    'X-Auth-Request-User',
    'X-Auth-Request-Email',
    'X-Auth-Request-Groups',
  ]);
});

test('forward-auth Ingress for ingress-nginx carries the external-auth annotations and routes to your Flower', async (t) => {
  const objects = await renderWith({
    ...forwardAuth,
    config: { django: { loginUrl: 'https://www.example.com/login/' } },
    ingress: { enabled: true, host: 'flower.example.com', flowerService: { name: 'flower', port: 5555 } },
  });
  const ingress = one(objects, 'Ingress', 'flowergate');
  const annotations = ingress.metadata.annotations!;
  t.is(
    annotations['nginx.ingress.kubernetes.io/auth-url'],
    'http://flowergate.flowergate.svc.cluster.local:4180/_flowergate/auth/nginx',
  );
  // Through flowergate's sign_in, which checks the controller's rd target against the allowed hosts.
  t.is(annotations['nginx.ingress.kubernetes.io/auth-signin'], 'https://$host/_flowergate/sign_in');
  t.is(annotations['nginx.ingress.kubernetes.io/auth-signin-redirect-param'], undefined);
  t.is(
    annotations['nginx.ingress.kubernetes.io/auth-response-headers'],
    'X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups',
  );
  t.deepEqual(ingress.spec.rules[0].http.paths[0].backend.service, {
    name: 'flower',
    port: { number: 5555 },
  });
});

test('RBAC exists only with Kubernetes token auth, and grants exactly create on token and access reviews', async (t) => {
  for (const values of [sidecar, forwardAuth]) {
    const off = await renderWith(values, ALL_APIS);
    t.false(
      kinds(off).some(
        (k) => k === 'ClusterRole' || k === 'ClusterRoleBinding' || k === 'Role' || k === 'RoleBinding',
      ),
    );
    t.false(podSpec(off).automountServiceAccountToken);

    const on = await renderWith({ ...values, config: { kubernetes: { tokenAuth: true } } }, ALL_APIS);
    t.true(podSpec(on).automountServiceAccountToken);
    const role = one(on, 'ClusterRole');
    t.deepEqual(role.rules, [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ]);
    const binding = one(on, 'ClusterRoleBinding');
    t.is(binding.roleRef.name, role.metadata.name);
    t.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'flowergate', namespace: 'flowergate' }]);
  }
  const delegator = await renderWith({
    ...forwardAuth,
    config: { kubernetes: { tokenAuth: true } },
    rbac: { useAuthDelegator: true },
  });
  t.false(kinds(delegator).includes('ClusterRole'));
  t.is(one(delegator, 'ClusterRoleBinding').roleRef.name, 'system:auth-delegator');
  const none = await renderWith({
    ...forwardAuth,
    config: { kubernetes: { tokenAuth: true } },
    rbac: { create: false },
  });
  t.false(kinds(none).includes('ClusterRoleBinding'));
});

test('secrets are in the Secret only: never in a ConfigMap, an env value, or an annotation', async (t) => {
  for (const values of [sidecar, forwardAuth]) {
    const objects = await renderWith(values, ALL_APIS);
    const secret = one(objects, 'Secret');
    const decoded = Object.values(secret.data as Record<string, string>).map((v) =>
      Buffer.from(v, 'base64').toString(),
    );
    t.true(decoded.includes(SECRET_KEY));
    t.true(decoded.includes(DATABASE_URL));
    for (const object of objects.filter((o) => o.kind !== 'Secret')) {
      const text = JSON.stringify(object);
      for (const secretValue of [SECRET_KEY, DATABASE_URL, BROKER_URL, FALLBACK, 'unmistakable']) {
        t.false(text.includes(secretValue), `${object.kind} ${object.metadata.name} contains a secret`);
      }
    }
  }
});

test('the checksum annotation changes when the configuration changes, and only then', async (t) => {
  const checksum = async (values: Record<string, unknown>) =>
    one(await renderWith(values), 'Deployment').spec.template.metadata.annotations['checksum/config'];
  const base = await checksum(forwardAuth);
  t.regex(base, /^[0-9a-f]{64}$/);
  t.not(await checksum({ ...forwardAuth, config: { log: { level: 'debug' } } }), base);
  t.not(await checksum({ ...forwardAuth, config: { policy: { default: 'staff' } } }), base);
  t.is(await checksum({ ...forwardAuth, replicaCount: 3 }), base);
  const secretSum = async (values: Record<string, unknown>) =>
    one(await renderWith(values), 'Deployment').spec.template.metadata.annotations['checksum/secret'];
  t.not(
    await secretSum({ ...forwardAuth, secrets: { ...forwardAuth.secrets, djangoSecretKey: 'rotated' } }),
    await secretSum(forwardAuth),
  );
  const existing = one(
    await renderWith({ mode: 'forward-auth', secrets: { existingSecret: 'mine' } }),
    'Deployment',
  );
  t.is(existing.spec.template.metadata.annotations['checksum/secret'], undefined);
});

test('every container, the helm test pod included, runs hardened', async (t) => {
  for (const values of [sidecar, forwardAuth]) {
    const objects = await renderWith(values, ALL_APIS);
    const pods = [podSpec(objects), one(objects, 'Pod').spec];
    for (const pod of pods) {
      t.true(pod.securityContext.runAsNonRoot);
      t.is(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      t.false(pod.enableServiceLinks, 'service links would inject FLOWERGATE_* variables');
      for (const c of pod.containers) {
        const sc = c.securityContext;
        t.true(sc.runAsNonRoot, c.name);
        t.true(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0, c.name);
        t.true(sc.readOnlyRootFilesystem, c.name);
        t.false(sc.allowPrivilegeEscalation, c.name);
        t.false(sc.privileged, c.name);
        t.deepEqual(sc.capabilities.drop, ['ALL'], c.name);
        t.is(sc.capabilities.add, undefined, c.name);
        t.is(sc.seccompProfile.type, 'RuntimeDefault', c.name);
        t.truthy(c.resources.requests, c.name);
        t.truthy(c.resources.limits?.memory, c.name);
      }
    }
  }
});

test('probes use the admin port, and the grace period covers the preStop delay plus the drain', async (t) => {
  const objects = await renderWith({
    ...forwardAuth,
    config: { proxy: { shutdownTimeout: 40 } },
    preStopDelaySeconds: 7,
  });
  const gate = container(objects, 'flowergate');
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
    t.is(gate[probe].httpGet.port, 'admin', probe);
  t.is(gate.readinessProbe.httpGet.path, '/readyz');
  // The image has no shell and no sleep binary: the hook is the image's own node, waiting 7 s.
  t.deepEqual(gate.lifecycle.preStop.exec.command, ['node', '-e', 'setTimeout(() => {}, 7000)']);
  t.is(podSpec(objects).terminationGracePeriodSeconds, 7 + 40 + 5);
});
