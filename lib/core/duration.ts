const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/** Parse "30s", "500ms", "2m", "1.5h" to milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}
