import type { DestinationStream } from 'pino';

/** A pino destination that keeps each JSON line, for assertions. */
export function captureLines(): DestinationStream & {
  lines: string[];
  records(): Record<string, unknown>[];
} {
  const lines: string[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(line);
    },
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
