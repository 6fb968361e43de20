// The Prometheus text exposition (format 0.0.4, what the admin port's /metrics serves), parsed strictly, so a
// test can assert on whole families of series instead of grepping single lines.
//
//   const samples = parsePrometheusText(await (await fetch(`${admin}/metrics`)).text());
//   seriesOf(samples, 'flowergate_decision_cache_total', ['result']);   // { hit: 20, miss: 4, coalesced: 0 }
//
// A line that is neither a comment nor a well-formed sample throws, so a format change fails the test loudly.

export interface PromSample {
  /** The sample's own name: a histogram gives `…_bucket`, `…_sum` and `…_count` samples. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;
const LABEL_PAIR = /[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\]|\\.)*)"[ \t]*(?:,|$)/y;
const ESCAPES: Record<string, string> = { '\\\\': '\\', '\\"': '"', '\\n': '\n' };

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${line}`);
  return value;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL_PAIR.lastIndex = 0;
  while (LABEL_PAIR.lastIndex < text.length) {
    const start = LABEL_PAIR.lastIndex;
    const pair = LABEL_PAIR.exec(text);
    if (!pair || pair.index !== start) throw new Error(`malformed labels: ${line}`);
    const [, name = '', raw = ''] = pair;
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} twice: ${line}`);
    labels[name] = raw.replace(/\\[\\"n]/g, (seq) => ESCAPES[seq] ?? seq);
  }
  return labels;
}

/** Every sample of an exposition, in order. Throws on a line that is not a comment, blank or a sample. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name = '', labels, value = ''] = match;
    samples.push({ name, labels: labels ? parseLabels(labels, line) : {}, value: parseValue(value, line) });
  }
  return samples;
}

/**
 * The samples named `name`, keyed by their label values in `labelNames` order joined with '/'
 * (`nginx/allow/ok`). Throws when a sample carries other labels than exactly these, or when two samples
 * share a key, so the result is the whole family and nothing hides in it.
 */
export function seriesOf(
  samples: readonly PromSample[],
  name: string,
  labelNames: readonly string[],
): Record<string, number> {
  const wanted = [...labelNames].sort().join();
  const out: Record<string, number> = {};
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const have = Object.keys(sample.labels).sort().join();
    if (have !== wanted) throw new Error(`${name} has labels {${have}}, expected {${wanted}}`);
    const key = labelNames.map((label) => sample.labels[label]).join('/');
    if (Object.hasOwn(out, key)) throw new Error(`${name}: two samples for ${key}`);
    out[key] = sample.value;
  }
  return out;
}
