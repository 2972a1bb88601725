import assert from "node:assert/strict";
import { fieldValue, STRING, timestampMs } from "../../commands/ingest/influx-values.ts";

/** The grammar as regular expressions and `Number`, which the one-pass reader must agree with. */
const FLOAT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
function expectedValue(raw: string): number | undefined {
  const last = raw.at(-1);
  if (last === "i" || last === "u") {
    const digits = raw.slice(0, -1);
    return /^-?\d+$/.test(digits) && (last === "i" || raw[0] !== "-") ? Number(digits) : undefined;
  }
  const value = Number(raw);
  return Number.isFinite(value) && FLOAT.test(raw) ? value : undefined;
}

const value = (raw: string) => fieldValue(` ${raw},`, 1, raw.length + 1);

Deno.test("influx values: floats, integers and unsigned read in one pass are the doubles Number gives", () => {
  const cases = [
    "0",
    "-0",
    "+5",
    "5.",
    ".5",
    "007.50",
    "92.5",
    "-1.5e3",
    "1E-7",
    "1e+2",
    "1e309",
    "123456789012345",
    "1234567890123456",
    "12345678901234567890",
    "0.1",
    "0.30000000000000004",
    "9007199254740993",
    "0.0000000000000000000001",
    "0.00000000000000000000001",
    "123456.789",
    "-42i",
    "42u",
    "-0i",
    "12345678901234567890i",
    "-1u",
    "i",
    "u",
    "-i",
    "1.2.3",
    ".",
    "-",
    "+",
    "e5",
    "5e",
    "5e+",
    "1_0",
    "0x10",
    "Infinity",
    "NaN",
    "1 ",
    "--1",
    "1i2",
  ];
  for (const raw of cases) assert.equal(value(raw), expectedValue(raw), raw);
  for (let k = 0; k < 20_000; k++) {
    const digits = String(Math.floor(Math.random() * 10 ** (1 + (k % 17))));
    const point = Math.floor(Math.random() * (digits.length + 1));
    const raw = (k % 3 === 0 ? "-" : "") + digits.slice(0, point) + "." + digits.slice(point);
    assert.equal(value(raw), expectedValue(raw), raw);
  }
});

Deno.test("influx values: quoted values are strings, booleans are 1 and 0, other words are not values", () => {
  assert.equal(value('"a, b"'), STRING);
  for (const raw of ["t", "T", "true", "True", "TRUE"]) assert.equal(value(raw), 1, raw);
  for (const raw of ["f", "F", "false", "False", "FALSE"]) assert.equal(value(raw), 0, raw);
  for (const raw of ["tRUE", "yes", "fals"]) assert.equal(value(raw), undefined, raw);
});

Deno.test("influx values: timestamps keep the digits of whole milliseconds, scaled; anything else is NaN", () => {
  const ns = { drop: 6, scale: 1 };
  const ms = { drop: 0, scale: 1 };
  const s = { drop: 0, scale: 1000 };
  const at = (raw: string, unit: typeof ns) => timestampMs(`x ${raw}\n`, 2, raw.length + 2, unit);
  assert.equal(at("1705320000123999999", ns), 1705320000123);
  assert.equal(at("-1705320000123999999", ns), -1705320000123);
  assert.equal(at("999999", ns), 0);
  assert.equal(at("1705320000123", ms), 1705320000123);
  assert.equal(at("1705320000", s), 1705320000000);
  assert.equal(at("12345678901234567890", ms), Number("12345678901234567890"));
  for (const raw of ["", "-", "+1", "12ab", "1.5", "1e3"]) assert.ok(Number.isNaN(at(raw, ms)), raw);
});
