/**
 * Durations as users write them: a number with a unit ("500ms", "30s", "2m", "1.5h") or a bare
 * number of seconds ("5", "2.5", or 5 in a YAML file), as timeout(1) and `parallel --timeout`
 * take them. This module is the one place that reads them; the forms it takes are named by
 * DURATION_FORMS in every error about a bad one.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** a non-negative decimal, an optional unit (none means seconds) */
export const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
/** What an error about a bad duration says it expected. */
export const DURATION_FORMS = 'a duration like "30s", "500ms", "2m" or a number of seconds';

/** Parse "30s", "500ms", "2m", "1.5h", "5" (seconds) or 2.5 (seconds) to milliseconds; undefined when it is not a duration. */
export function parseDuration(value: string | number): number | undefined {
  const m = DURATION_RE.exec(typeof value === 'number' ? String(value) : value.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/**
 * Seconds as people read them: `42s`, `3m07s`, `2h05m`; with `tenths`, under a minute to a tenth
 * (`1.7s`). The one format of the bar, the follower and the summary line.
 */
export function formatSeconds(s: number, tenths = false): string {
  if (tenths && s < 60) return `${s.toFixed(1)}s`;
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}
