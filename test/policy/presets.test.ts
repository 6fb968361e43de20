import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import type { DjangoIdentity } from '../../src/django/verdict.ts';
import { createPolicy } from '../../src/policy/policy.ts';
import { printPolicy } from '../../src/policy/presets-print.ts';
import { satisfies } from '../../src/policy/requirement.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const identity = (name: string, facts: { superuser?: boolean; staff?: boolean; groups?: string[] }) => ({
  kind: 'django' as const,
  identity: {
    userId: name,
    username: name,
    email: '',
    isSuperuser: facts.superuser ?? false,
    isStaff: facts.staff ?? false,
    isActive: true,
    viaFallbackKey: false,
    groups: async () => facts.groups ?? [],
    hasPerm: async () => facts.superuser ?? false,
  } satisfies DjangoIdentity,
});
const root = identity('root', { superuser: true, staff: true });
const staff = identity('staff', { staff: true });
const operator = identity('operator', { staff: true, groups: ['flower-operators'] });
const plain = identity('plain', {});

const configOf = (env: Record<string, string>, file?: string) =>
  loadConfig({ file, env: { FLOWERGATE_DJANGO_SECRET_KEY: 'k', ...env } });
const policyOf = (env: Record<string, string>) => createPolicy(configOf(env).policy);

const verdict = async (
  policy: ReturnType<typeof createPolicy>,
  who: ReturnType<typeof identity>,
  method: string,
  path: string,
) => {
  const match = policy.match({ method, host: 'flower.example.com', path, client: null });
  const answer = await satisfies(match.requirement, who);
  return answer.allowed ? 'allow' : answer.reason;
};

test('flower-read-only-staff: staff read every page and the tasks table; only superusers revoke or shut down', async (t) => {
  const policy = policyOf({ FLOWERGATE_POLICY_PRESET: 'flower-read-only-staff' });
  for (const [method, path] of [
    ['GET', '/'],
    ['GET', '/workers'],
    ['GET', '/tasks'],
    ['POST', '/tasks/datatable'],
    ['GET', '/task/8d3c2b1a'],
    ['GET', '/api/workers'],
    ['GET', '/static/js/flower.js'],
  ] as const) {
    t.is(await verdict(policy, staff, method, path), 'allow', `staff ${method} ${path}`);
    t.is(await verdict(policy, plain, method, path), 'not_staff', `plain ${method} ${path}`);
  }
  for (const path of [
    '/api/task/revoke/8d3c2b1a',
    '/api/worker/shutdown/lab1@host',
    '/api/task/apply/labapp.add',
  ]) {
    t.is(await verdict(policy, staff, 'POST', path), 'not_superuser', `staff POST ${path}`);
    t.is(await verdict(policy, root, 'POST', path), 'allow', `root POST ${path}`);
  }
});

test('a read rule opens only the reads it names: other methods and near-miss paths fall to the default', async (t) => {
  const policy = policyOf({ FLOWERGATE_POLICY_PRESET: 'flower-read-only-staff' });
  for (const [method, path] of [
    ['POST', '/workers'], // a POST on a read page
    ['POST', '/tasks/datatable/x'],
    ['POST', '/tasks/datatablex'],
    ['POST', '/api/workers'],
    ['GET', '/api/task/revoke/8d3c2b1a'],
    ['PUT', '/tasks'],
    ['DELETE', '/api/workers'],
    ['POST', '/api/task/revoke/'], // Tornado's (.+) needs a character: Flower's 404, the default here
    ['GET', '/no/such/page'],
    ['GET', '/login'],
    ['OPTIONS', '/api/task/revoke/x'],
  ] as const) {
    const match = policy.match({ method, host: 'h', path, client: null });
    t.is(match.rule, 'default', `${method} ${path}`);
    t.is(await verdict(policy, staff, method, path), 'not_superuser', `${method} ${path}`);
  }
});

test('flower-operators: members of the configured group act, staff read, others are refused', async (t) => {
  const policy = policyOf({
    FLOWERGATE_POLICY_PRESET: 'flower-operators',
    FLOWERGATE_POLICY_OPERATOR_GROUP: 'flower-operators',
  });
  t.is(await verdict(policy, operator, 'POST', '/api/task/revoke/x'), 'allow');
  t.is(await verdict(policy, staff, 'POST', '/api/task/revoke/x'), 'not_in_group');
  t.is(await verdict(policy, staff, 'GET', '/tasks'), 'allow');
  t.is(await verdict(policy, operator, 'POST', '/tasks/datatable'), 'allow');
  t.is(await verdict(policy, plain, 'GET', '/tasks'), 'not_staff');
  // Membership is literal, as in Django: a superuser outside the group does not act under this preset.
  t.is(await verdict(policy, root, 'POST', '/api/task/revoke/x'), 'not_in_group');
});

test('flower-operators without a group is a configuration error that names the variable', (t) => {
  const error = t.throws(() => configOf({ FLOWERGATE_POLICY_PRESET: 'flower-operators' }));
  t.regex(error.message, /policy\.operatorGroup \(FLOWERGATE_POLICY_OPERATOR_GROUP\): is required/);
  t.throws(() => configOf({ FLOWERGATE_POLICY_PRESET: 'flower-admins-please' }), {
    message: /FLOWERGATE_POLICY_PRESET/,
  });
});

test("the user's rules come before the preset's: they can open or close a path further", async (t) => {
  const rules = [
    { name: 'probes', methods: ['GET'], path: { exact: '/healthcheck' }, require: 'public' },
    { name: 'no broker page', path: { exact: '/broker' }, require: 'superuser' },
  ];
  const policy = policyOf({
    FLOWERGATE_POLICY_PRESET: 'flower-read-only-staff',
    FLOWERGATE_POLICY_RULES: JSON.stringify(rules),
  });
  t.is(policy.match({ method: 'GET', host: 'h', path: '/healthcheck', client: null }).rule, 'probes');
  t.is(await verdict(policy, staff, 'GET', '/broker'), 'not_superuser');
  t.is(await verdict(policy, staff, 'GET', '/workers'), 'allow');
});

test('superuser-only, the default preset, adds no rule: every path needs a superuser', async (t) => {
  const policy = policyOf({});
  t.is(configOf({}).policy.preset, 'superuser-only');
  t.is(policy.match({ method: 'GET', host: 'h', path: '/tasks', client: null }).rule, 'default');
  t.is(await verdict(policy, staff, 'GET', '/tasks'), 'not_superuser');
  t.is(await verdict(policy, root, 'GET', '/tasks'), 'allow');
});

test('the printed policy, pasted back as rules with no preset, decides exactly as the preset does', async (t) => {
  const env = { FLOWERGATE_POLICY_PRESET: 'flower-operators', FLOWERGATE_POLICY_OPERATOR_GROUP: 'ops' };
  const printed = parse(printPolicy(configOf(env).policy)) as {
    policy: { default: string; rules: unknown[] };
  };
  t.true(printed.policy.rules.length >= 3);
  const pinned = policyOf({ FLOWERGATE_POLICY_RULES: JSON.stringify(printed.policy.rules) });
  const preset = policyOf(env);
  for (const method of ['GET', 'HEAD', 'POST', 'OPTIONS'])
    for (const path of ['/', '/tasks/datatable', '/api/task/revoke/x', '/api/workers', '/static/a.css', '/x'])
      t.deepEqual(
        pinned.match({ method, host: 'h', path, client: null }).requirementText,
        preset.match({ method, host: 'h', path, client: null }).requirementText,
        `${method} ${path}`,
      );
});

test('flowergate policy print: YAML on stdout without a secret key; a bad preset exits 2', async (t) => {
  const env = { PATH: process.env.PATH ?? '' };
  const cli = ['src/cli.ts', 'policy', 'print'];
  const { stdout } = await run(process.execPath, [...cli, '--preset', 'flower-read-only-staff'], {
    cwd: ROOT,
    env,
  });
  t.regex(stdout, /^# flowergate policy/);
  const rules = (parse(stdout) as { policy: { rules: Array<{ name: string; require: string }> } }).policy
    .rules;
  t.deepEqual(
    rules.map((r) => r.require),
    ['staff', 'staff', 'superuser'],
  );
  const bad = await run(process.execPath, [...cli, '--preset', 'nope'], { cwd: ROOT, env }).catch((e) => e);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /FLOWERGATE_POLICY_PRESET/);
});
