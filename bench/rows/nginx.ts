// Row 5: behind nginx auth_request (ingress-nginx's configuration, keep-alive pool to the auth service),
// against the same nginx with a bare node:http auth backend; flowergate again inside the chart's limit.

import { assertNginx, startNginx } from '../../test/support/nginx.ts';
import { type ComparedRow, compare, skip } from '../lines.ts';
import { measure, preflight, type Target } from '../measure.ts';
import { one, pageRequest, sqliteUrl, superuserKey } from '../requests.ts';
import {
  nginxPids,
  onServerCpu,
  startBare,
  startFlowergate,
  stopAll,
  trackNginx,
  versions,
} from '../servers.ts';
import { limitedLabel, log, settings } from '../settings.ts';

export async function nginxRow(): Promise<void> {
  log('\n== row 5: behind nginx auth_request vs the same nginx with a bare node:http auth backend');
  let nginxBin: string | null = null;
  try {
    nginxBin = assertNginx();
  } catch (error) {
    skip('5', 'behind nginx auth_request', (error as Error).message);
  }
  if (!nginxBin) return;
  versions.nginx ??= 'unknown version';
  const upstream = await startBare('upstream', 'upstream');
  const bareAuth = await startBare('bare-auth', 'empty');
  const source = one({
    ...pageRequest(superuserKey),
    headers: { ...pageRequest(superuserKey).headers, Host: 'flower.example.com' },
  });
  const viaBare = await onServerCpu(() =>
    startNginx({ authUrl: `${bareAuth.origin}/_flowergate/auth/nginx`, upstream: upstream.origin }),
  );
  trackNginx(viaBare);
  const targets: Target[] = [
    {
      id: 'nginx → bare auth',
      origin: viaBare.url,
      source,
      expect: 200,
      pid: bareAuth.proc.pid,
      cpuPids: () => [...nginxPids(viaBare), bareAuth.proc.pid, upstream.proc.pid],
    },
  ];
  const rows: ComparedRow[] = [];
  const limits = settings.memoryLimit === null ? [undefined] : [undefined, settings.memoryLimit];
  for (const limit of limits) {
    const suffix = limit === undefined ? '' : ` @${limit / 2 ** 20}Mi`;
    const fg = await startFlowergate(
      `flowergate-nginx${suffix ? '-limited' : ''}`,
      { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl },
      limit === undefined ? {} : { limitBytes: limit },
    );
    const viaFg = await onServerCpu(() =>
      startNginx({ authUrl: `${fg.origin}/_flowergate/auth/nginx`, upstream: upstream.origin }),
    );
    trackNginx(viaFg);
    targets.push({
      id: `nginx → flowergate${suffix}`,
      origin: viaFg.url,
      source,
      expect: 200,
      pid: fg.proc.pid,
      cpuPids: () => [...nginxPids(viaFg), fg.proc.pid, upstream.proc.pid],
      ...(fg.cgroup ? { cgroup: fg.cgroup } : {}),
    });
    rows.push({
      id: `nginx → flowergate${suffix}`,
      row: '5',
      what:
        limit === undefined
          ? 'nginx auth_request → flowergate, warm session (RSS: flowergate)'
          : `nginx auth_request → flowergate, warm session — ${limitedLabel(limit)}`,
      min: limit === undefined ? 0.9 : 0,
      ...(limit === undefined ? {} : { limited: { of: 'nginx → flowergate', limitBytes: limit } }),
    });
  }
  for (const t of targets) await preflight(t);
  const results = await measure(targets, settings.connections);
  compare(
    results,
    {
      id: 'nginx → bare auth',
      row: '5',
      what: 'nginx auth_request → bare node:http auth backend (RSS: the backend)',
    },
    rows,
    settings.connections,
    'nginx→bare',
  );
  await stopAll();
}
