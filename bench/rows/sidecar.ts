// Row 6: the sidecar proxy vs a minimal node:http pipe proxy vs the upstream directly; the sidecar again
// inside the chart's memory limit; then a large answer streamed through each proxy.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type ManagedProcess } from '../../test/support/processes.ts';
import { cpuRatio, LIMITED_MIN, limitChecks, lines, p99Ratio, ratioCheck, skipped } from '../lines.ts';
import { get, measure, preflight, type Target } from '../measure.ts';
import { type Check, fmtMs, fmtRatio } from '../report.ts';
import { one, pageRequest, sqliteUrl, superuserKey } from '../requests.ts';
import { type Flowergate, startBare, startFlowergate, startNode, stopAll } from '../servers.ts';
import { limitedLabel, log, REPO, settings } from '../settings.ts';
import { stream } from '../stream.ts';

/** At 64 connections the sidecar's p99 stays within this multiple of the pipe proxy's (issue 17). */
const P99_MAX = 2;

export async function sidecarRow(): Promise<void> {
  log('\n== row 6: sidecar proxy vs a minimal node:http pipe proxy vs the upstream directly');
  const upstream = await startBare('upstream', 'upstream');
  const pipePort = await freePort();
  const pipe = await startNode(
    'pipe-proxy',
    ['bench/servers/pipe-proxy.ts', String(pipePort), upstream.origin],
    pipePort,
  );
  const pipeOrigin = `http://127.0.0.1:${pipePort}`;
  const source = one(pageRequest(superuserKey));
  const targets: Target[] = [
    { id: 'upstream direct', origin: upstream.origin, source, expect: 200, pid: upstream.proc.pid },
    {
      id: 'pipe proxy',
      origin: pipeOrigin,
      source,
      expect: 200,
      pid: pipe.pid,
      cpuPids: () => [pipe.pid, upstream.proc.pid],
    },
  ];
  let sidecarProblem: string | null = null;
  let sidecar: Flowergate | null = null;
  const limit = settings.memoryLimit;
  if (!existsSync(join(REPO, 'src/proxy/sidecar.ts'))) {
    sidecarProblem = 'not available: src/proxy/sidecar.ts does not exist yet';
  } else {
    try {
      const variants = [
        {
          id: 'sidecar',
          root: REPO,
          env: {} as Record<string, string>,
          limitBytes: undefined as number | undefined,
        },
        ...(limit === null ? [] : [{ id: 'sidecar limited', root: REPO, env: {}, limitBytes: limit }]),
        ...(settings.compare ? [{ id: 'sidecar compare', ...settings.compare, limitBytes: undefined }] : []),
      ];
      for (const variant of variants) {
        const fg = await startFlowergate(
          `flowergate-${variant.id.replace(' ', '-')}`,
          { FLOWERGATE_DJANGO_DATABASE_URL: sqliteUrl, FLOWERGATE_UPSTREAM: upstream.origin, ...variant.env },
          {
            root: variant.root,
            ...(variant.limitBytes === undefined ? {} : { limitBytes: variant.limitBytes }),
          },
        );
        if (variant.id === 'sidecar') sidecar = fg;
        const t: Target = {
          id: variant.id,
          origin: fg.origin,
          source,
          expect: 200,
          pid: fg.proc.pid,
          cpuPids: () => [fg.proc.pid, upstream.proc.pid],
          ...(fg.cgroup ? { cgroup: fg.cgroup } : {}),
        };
        await preflight(t);
        targets.push(t);
      }
    } catch (error) {
      sidecarProblem = `not available: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  for (const t of targets) await preflight(t);
  const connections = [1, ...settings.connections.filter((c) => c !== 1)];
  const results = await measure(targets, connections);
  for (const c of connections) {
    const direct = get(results, 'upstream direct', c);
    const pipeS = get(results, 'pipe proxy', c);
    const side = get(results, 'sidecar', c);
    const limitedS = get(results, 'sidecar limited', c);
    lines.push({
      row: '6',
      what: 'upstream directly (static 1 KiB answer)',
      connections: String(c),
      summary: direct,
      ratio: 'baseline',
      checks: [],
    });
    lines.push({
      row: '6',
      what: 'minimal node:http pipe proxy → upstream',
      connections: String(c),
      summary: pipeS,
      ratio: pipeS && direct ? `${fmtRatio(pipeS.rps.median / direct.rps.median)} direct` : '–',
      checks: [],
    });
    if (!side) {
      lines.push({
        row: '6',
        what: 'flowergate sidecar → upstream',
        connections: String(c),
        summary: null,
        ratio: '–',
        checks: [],
        note: sidecarProblem ?? 'no result',
      });
      continue;
    }
    const checks: Check[] = [];
    let ratio = '–';
    if (c === 1 && direct) {
      const added = side.p50Ms - direct.p50Ms;
      ratio = `+${fmtMs(added)} ms p50 over direct`;
      checks.push({ text: 'added p50 ≤ 0.5 ms', pass: added <= 0.5 });
    } else if (pipeS) {
      const r = side.rps.median / pipeS.rps.median;
      ratio = `${fmtRatio(r)} pipe${cpuRatio(pipeS, side)}${p99Ratio(pipeS, side)}`;
      checks.push(ratioCheck(r, 0.75));
      if (c === 64)
        checks.push({ text: `p99 ≤ ${P99_MAX}× pipe's`, pass: side.p99Ms <= P99_MAX * pipeS.p99Ms });
    }
    if (side.problems.length) checks.push({ text: 'no errors', pass: false });
    lines.push({
      row: '6',
      what: 'flowergate sidecar → upstream, warm session',
      connections: String(c),
      summary: side,
      ratio,
      checks,
    });
    const compared = get(results, 'sidecar compare', c);
    if (compared && pipeS && c !== 1) {
      lines.push({
        row: '6 (compare)',
        what: `flowergate sidecar → upstream — with ${settings.compare?.label}`,
        connections: String(c),
        summary: compared,
        ratio: `${fmtRatio(compared.rps.median / pipeS.rps.median)} pipe${cpuRatio(pipeS, compared)}${p99Ratio(pipeS, compared)}; ${fmtRatio(compared.rps.median / side.rps.median)} sidecar`,
        checks: [],
      });
    }
    if (limitedS && limit !== null) {
      const r = limitedS.rps.median / side.rps.median;
      lines.push({
        row: '6',
        what: `flowergate sidecar → upstream — ${limitedLabel(limit)}`,
        connections: String(c),
        summary: limitedS,
        ratio: `${fmtRatio(r)} unlimited${cpuRatio(side, limitedS)}${pipeS ? p99Ratio(pipeS, limitedS) : ''}${pipeS ? " pipe's" : ''}`,
        checks: [
          ratioCheck(r, LIMITED_MIN, ' unlimited'),
          ...limitChecks(limitedS, limit),
          ...(limitedS.problems.length ? [{ text: 'no errors', pass: false }] : []),
        ],
      });
    }
  }
  if (sidecarProblem) skipped.push(`6 sidecar: ${sidecarProblem}`);
  await streams(pipe, pipeOrigin, sidecar);
  await stopAll();
}

/**
 * A large streamed answer: memory must not grow with the answer's size (fast reader, compared with the
 * pipe proxy doing the same), and backpressure must hold (slow reader: the proxy must not buffer).
 */
async function streams(pipe: ManagedProcess, pipeOrigin: string, sidecar: Flowergate | null): Promise<void> {
  const growth = new Map<string, number>();
  for (const [name, origin, pid] of [
    ['pipe proxy', pipeOrigin, pipe.pid],
    ...(sidecar ? [['flowergate sidecar', sidecar.origin, sidecar.proc.pid] as const] : []),
  ] as const) {
    for (const [mib, slow] of [
      [512, false],
      [32, true],
    ] as const) {
      const r = await stream(`${origin}/large?mib=${mib}`, pid, slow);
      const grew = r.peakMiB - r.beforeMiB;
      const reader = slow ? 'slow' : 'fast';
      growth.set(`${name} ${reader}`, grew);
      const pipeGrew = growth.get(`pipe proxy ${reader}`) ?? 0;
      const limit = slow ? 16 : pipeGrew + 16;
      lines.push({
        row: '6',
        what: `${name}: ${mib} MiB streamed to a ${slow ? 'slow (~6 MiB/s)' : 'fast'} reader — ${r.mibPerS.toFixed(0)} MiB/s; RSS ${r.beforeMiB.toFixed(0)} → peak ${r.peakMiB.toFixed(0)} MiB`,
        connections: '1',
        summary: null,
        ratio: `+${grew.toFixed(1)} MiB`,
        checks: name.startsWith('flowergate')
          ? [
              {
                text: slow ? 'RSS grows < 16 MiB' : `RSS grows < pipe proxy's + 16 MiB`,
                pass: grew < limit && r.ok,
              },
            ]
          : [],
        ...(r.ok ? {} : { note: `incomplete: ${r.bytes} bytes` }),
      });
    }
  }
}
