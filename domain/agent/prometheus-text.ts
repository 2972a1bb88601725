/**
 * The Prometheus text exposition format (version 0.0.4), as applications serve it on
 * `/metrics`: `# HELP` / `# TYPE` comments, `name{label="value",…} value [timestamp]`,
 * label values with `\\`, `\"` and `\n` escapes, values `NaN`, `+Inf`, `-Inf`.
 * Histogram and summary series (`_bucket{le=…}`, `_sum`, `_count`, `{quantile=…}`)
 * are plain series in this format and come out as such.
 *
 * @example
 * const { samples, errors } = parsePrometheusText('up{job="a"} 1\n');
 * samples[0] // { metric: "up", labels: { job: "a" }, value: 1, timestamp: undefined }
 */
import { specialValue } from "../special-values.ts";
import type { AgentSample } from "./native-batch.ts";

export interface ParsedExposition {
  readonly samples: AgentSample[];
  /** One reason per line that could not be read; the other lines are kept. */
  readonly errors: string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheusText(text: string): ParsedExposition {
  const samples: AgentSample[] = [];
  const errors: string[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseLine(line);
    if (typeof sample === "string") errors.push(`line ${n + 1}: ${sample}`);
    else samples.push(sample);
  }
  return { samples, errors };
}

function parseLine(line: string): AgentSample | string {
  const name = NAME.exec(line);
  if (name === null) return "no metric name";
  let i = name[0].length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const label = LABEL_NAME.exec(line.slice(i));
      if (label === null) return "bad label name";
      i += label[0].length;
      while (line[i] === " ") i++;
      if (line[i] !== "=" || line[i + 1] !== '"') return `label ${label[0]} has no quoted value`;
      i += 2;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) return `label ${label[0]}'s value is not closed`;
        i++;
        if (c === '"') break;
        if (c !== "\\") {
          value += c;
          continue;
        }
        const escaped = line[i++];
        value += escaped === "n" ? "\n" : escaped;
      }
      labels[label[0]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === "") {
    return "expected a value and an optional timestamp";
  }
  const value = parseValue(rest[0]);
  if (value === undefined) return `value ${JSON.stringify(rest[0])} is not a number`;
  if (rest.length === 1) return { metric: name[0], labels, value };
  const timestamp = Number(rest[1]);
  if (!Number.isInteger(timestamp)) return `timestamp ${JSON.stringify(rest[1])} is not an integer`;
  return { metric: name[0], labels, value, timestamp };
}

function parseValue(text: string): number | undefined {
  const special = specialValue(text);
  if (special !== undefined) return special;
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}
