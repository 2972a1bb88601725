/**
 * The spellings of NaN and the infinities that the Prometheus text format and the
 * native ingest format share (JSON has no literal for them).
 *
 * @example
 * specialValue("+Inf") // Infinity; specialValue("nan") // undefined
 */
export function specialValue(text: string): number | undefined {
  switch (text) {
    case "NaN":
      return NaN;
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    default:
      return undefined;
  }
}
