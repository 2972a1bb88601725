/**
 * Durations as written in rules (`"30s"`, `"1m"`, `"1h30m"`, `"0s"`), in the Prometheus
 * notation: one or more `<integer><unit>` parts with units ms, s, m, h, d, w, largest
 * first, each unit at most once.
 *
 * @example
 * parseDuration("1m30s") // 90_000
 * formatDuration(90_000) // "1m30s"
 */
const UNITS: readonly [string, number][] = [
  ["w", 604_800_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
];
const PART = /(\d+)(ms|s|m|h|d|w)/y;

/** Milliseconds in `text`, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null || match.index !== at) return undefined;
    const rank = UNITS.findIndex(([unit]) => unit === match[2]);
    if (rank <= lastRank) return undefined;
    lastRank = rank;
    total += Number(match[1]) * UNITS[rank][1];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** The shortest notation for `ms` that `parseDuration` reads back to the same value. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
