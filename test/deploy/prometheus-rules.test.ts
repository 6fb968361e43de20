import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { makeTempDir, removeDir } from '../support/processes.ts';
import { toolTest } from '../support/require-tool.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RULES = join(ROOT, 'deploy/prometheus/flowergate-rules.yaml');
const RULE_TESTS = join(ROOT, 'deploy/prometheus/flowergate-rules.test.yaml');
const DASHBOARD = join(ROOT, 'deploy/grafana/flowergate-dashboard.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface Target {
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: { uid: string } }[] };
}

const rules = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r) => r.alert !== undefined);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const dashboardExprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
const variableQueries = dashboard.templating.list
  .map((v) =>
    typeof v.query === 'object' && v.query !== null ? (v.query as { query: string }).query : String(v.query),
  )
  .filter((q) => q.includes('('));

/** Every series name createMetrics can expose, histogram parts included. */
async function exposedNames(): Promise<Set<string>> {
  const registry = new Registry();
  createMetrics({ registry, version: 'test' });
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram')
      for (const part of ['_bucket', '_count', '_sum']) names.add(metric.name + part);
  }
  return names;
}

function referencedNames(texts: readonly string[]): Set<string> {
  return new Set(texts.flatMap((text) => text.match(/\bflowergate_[a-z0-9_]+/g) ?? []));
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template
const DATASOURCE_UID = '${datasource}';

const withPromtool = await toolTest('promtool');

withPromtool('promtool check rules accepts the rules file', (t) => {
  const result = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
  t.is(result.status, 0, result.stdout + result.stderr);
  t.regex(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

withPromtool('promtool test rules passes every unit test', (t) => {
  const result = spawnSync('promtool', ['test', 'rules', RULE_TESTS], {
    encoding: 'utf8',
    cwd: join(ROOT, 'deploy/prometheus'),
  });
  t.is(result.status, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /SUCCESS/);
});

withPromtool('every dashboard query is valid PromQL', (t) => {
  // Grafana's variables replaced by what they expand to, then parsed as recording rules.
  const expand = (expr: string) =>
    expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$instance', '.*');
  const dir = makeTempDir('dashboard-promql');
  t.teardown(() => removeDir(dir));
  const file = join(dir, 'dashboard-exprs.yaml');
  const records = dashboardExprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr: expand(expr) }));
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: records }] }));
  const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  t.is(result.status, 0, result.stdout + result.stderr);
});

test('every alert has a unit test where it fires and one where it stays silent', (t) => {
  const suite = parseYaml(readFileSync(RULE_TESTS, 'utf8')) as RuleTests;
  const cases = suite.tests.flatMap((c) => c.alert_rule_test ?? []);
  for (const { alert } of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    t.true(
      mine.some((c) => c.exp_alerts.length > 0),
      `${alert} is never expected to fire`,
    );
    t.true(
      mine.some((c) => c.exp_alerts.length === 0),
      `${alert} is never expected to stay silent`,
    );
  }
  t.deepEqual(
    [...new Set(cases.map((c) => c.alertname))].filter((name) => !alerts.some((a) => a.alert === name)),
    [],
    'tests name no alert that does not exist',
  );
});

test('every alert has a severity, a summary and a runbook-style description', (t) => {
  t.deepEqual(alerts.map((a) => a.alert).sort(), [
    'FlowergateAllDown',
    'FlowergateDecisionLatencyHigh',
    'FlowergateDown',
    'FlowergateErrorDecisions',
    'FlowergateHighDenialRate',
    'FlowergateSessionSignaturesRejected',
    'FlowergateSessionStoreErrors',
    'FlowergateUpstreamErrors',
  ]);
  for (const alert of alerts) {
    t.true(['warning', 'critical'].includes(alert.labels?.severity ?? ''), `${alert.alert} severity`);
    t.true((alert.annotations?.summary ?? '').length > 10, `${alert.alert} summary`);
    t.true(
      (alert.annotations?.description ?? '').length > 100,
      `${alert.alert} description says what to check`,
    );
  }
});

test('rules and dashboard reference only metrics that createMetrics exposes', async (t) => {
  const exposed = await exposedNames();
  const ruleTexts = rules.flatMap((r) => [r.expr, ...Object.values(r.annotations ?? {})]);
  for (const name of referencedNames(ruleTexts)) t.true(exposed.has(name), `rules: ${name}`);
  for (const name of referencedNames([...dashboardExprs, ...variableQueries]))
    t.true(exposed.has(name), `dashboard: ${name}`);
  // And the product metrics all appear on the dashboard.
  const onDashboard = [...referencedNames(dashboardExprs)].map((n) => n.replace(/_(bucket|count|sum)$/, ''));
  for (const name of [
    'flowergate_auth_decisions_total',
    'flowergate_auth_decision_duration_seconds',
    'flowergate_proxy_request_duration_seconds',
    'flowergate_proxy_upstream_errors_total',
    'flowergate_session_store_duration_seconds',
    'flowergate_decision_cache_total',
    'flowergate_kube_reviews_total',
    'flowergate_build_info',
  ]) {
    t.true(onDashboard.includes(name), `dashboard lacks ${name}`);
  }
});

test('the dashboard takes its Prometheus data source from a datasource variable', (t) => {
  const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
  t.like(variable, { type: 'datasource', query: 'prometheus' });
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') continue;
    t.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE_UID }, panel.title);
    for (const target of panel.targets ?? []) t.is(target.datasource.uid, DATASOURCE_UID, panel.title);
  }
  for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
    t.is(v.datasource?.uid, DATASOURCE_UID, v.name);
  }
});

test('the dashboard has the panels operators look for, with unique ids and titles', (t) => {
  const titles = dashboard.panels.map((p) => p.title);
  for (const wanted of [
    'Decisions by reason',
    'Decision latency percentiles',
    'Decision cache hit ratio',
    'Proxied latency by code (p99)',
    'Upstream errors',
    'Session store latency',
    'Kubernetes reviews',
  ]) {
    t.true(titles.includes(wanted), wanted);
  }
  t.is(new Set(titles).size, titles.length);
  t.is(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length);
});
