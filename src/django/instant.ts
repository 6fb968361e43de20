/**
 * Instants are microseconds since the Unix epoch, as a number (exact up to year 2255): Django
 * compares expiry at microsecond precision, and JavaScript's Date only has milliseconds.
 */
export type Micros = number;

const origin = BigInt(Math.round(performance.timeOrigin * 1000));

/** The current instant with sub-millisecond resolution. */
export function nowMicros(): Micros {
  return Number(origin + BigInt(Math.round(performance.now() * 1000)));
}

/** Parses ISO-8601 with up to 6 fractional digits (more are truncated) and an offset or Z. */
export function parseInstant(text: string): Micros | null {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(
      text.trim(),
    );
  if (!match) return null;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone = 'Z'] = match;
  const millis = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(millis)) return null;
  const micros = Number((frac + '000000').slice(0, 6));
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  return (millis - offsetMinutes * 60_000) * 1000 + micros;
}

/**
 * The instant as Django binds a datetime parameter: `YYYY-MM-DD HH:MM:SS[.ffffff]` (fraction only
 * when non-zero), in UTC when USE_TZ is on, else wall time in TIME_ZONE.
 */
export function formatDjangoDatetime(micros: Micros, timeZone: string | null): string {
  const millis = Math.floor(micros / 1000);
  const fraction = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const wall = wallSecond(Math.floor(millis / 1000), timeZone ?? 'UTC');
  return fraction === 0 ? wall : `${wall}.${String(fraction).padStart(6, '0')}`;
}

// Every cold lookup formats "now": the wall-clock second is the same for thousands of them, so the last
// one is kept per time zone (a handful of zones at most: the configured one and UTC).
const lastSecond = new Map<string, { second: number; wall: string }>();
function wallSecond(second: number, timeZone: string): string {
  const last = lastSecond.get(timeZone);
  if (last?.second === second) return last.wall;
  let wall: string;
  if (timeZone === 'UTC') {
    wall = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ');
  } else {
    const parts = Object.fromEntries(
      wallClock(timeZone)
        .formatToParts(new Date(second * 1000))
        .map((p) => [p.type, p.value]),
    );
    wall = `${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour'] === '24' ? '00' : parts['hour']}:${parts['minute']}:${parts['second']}`;
  }
  lastSecond.set(timeZone, { second, wall });
  return wall;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
