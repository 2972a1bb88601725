/**
 * The native decoder's fast path (scanner + series cache) against its `JSON.parse`
 * path: for generated bodies full of odd spellings, bad values and broken lines, both
 * must give the same series, samples and rejections, with a cold and a warm cache.
 */
import assert from "node:assert/strict";
import type { DecodeContext } from "../../commands/ingest/decode-context.ts";
import { decodeNative } from "../../commands/ingest/native.ts";
import { SeriesCache } from "../../commands/ingest/series-cache.ts";
import { defaultLabelLimits } from "../../domain/label-rules.ts";
import { observed } from "../support/decode-paths.ts";
import { type SeededRandom, seededRandom } from "../support/seeded-random.ts";

const NOW = Date.UTC(2024, 0, 15, 12, 0, 0);
const base: DecodeContext = {
  tenant: "acme",
  limits: { ...defaultLabelLimits, maxLabels: 4 },
  now: NOW,
  maxAgeMs: 86_400_000,
  maxFutureMs: 600_000,
};

const pick = <T>(random: SeededRandom, items: readonly T[]): T => items[random.int(0, items.length - 1)];

function decimal(random: SeededRandom): string {
  const digits = Array.from({ length: random.int(1, 20) }, () => String(random.int(0, 9))).join("");
  const trimmed = digits.replace(/^0+(?=\d)/, "");
  const point = random.int(0, trimmed.length);
  let text = point === 0 || point === trimmed.length
    ? trimmed
    : `${trimmed.slice(0, point)}.${trimmed.slice(point)}`;
  if (random.next() < 0.15) text = `0.${"0".repeat(random.int(0, 25))}${trimmed}`;
  if (random.next() < 0.1) text += `${pick(random, ["e", "E", "e+", "e-"])}${random.int(0, 30)}`;
  return (random.next() < 0.3 ? "-" : "") + text;
}

function value(random: SeededRandom): string {
  const r = random.next();
  if (r < 0.6) return decimal(random);
  if (r < 0.75) return `"${pick(random, ["NaN", "+Inf", "Inf", "-Inf"])}"`;
  return pick(random, ['"nan"', "null", "true", '"1.5"', "[1]", "-0", "0", "01", "1.", ".5", "1e", "-"]);
}

function timestamp(random: SeededRandom): string {
  const r = random.next();
  if (r < 0.7) return String(NOW - random.int(0, 3_600_000));
  if (r < 0.8) return `${NOW - 5000}.${random.int(0, 999)}`;
  return pick(random, ["1e400", '"x"', "null", String(NOW + 700_000), String(NOW - 2 * 86_400_000), "-1"]);
}

function labels(random: SeededRandom): string | undefined {
  const r = random.next();
  if (r < 0.1) return undefined;
  if (r < 0.15) return pick(random, ["null", "[]", '{"a":1}', '{"a":{"b":"c"}}', '{"a":"x}y"}', '{"a" "b"}']);
  const names = ["host", "dc", "mode", "bad-name", "__x", "z"];
  const values = ["a", "web-1", "é", 'q\\"uote', "back\\\\slash", "\\u0041", "x}y", "tab\\t", ""];
  const members = Array.from(
    { length: random.int(0, 5) },
    () =>
      `"${pick(random, names)}"${pick(random, ["", " "])}:${pick(random, ["", " "])}"${
        pick(random, values)
      }"`,
  );
  return `{${members.join(pick(random, [",", ", "]))}}`;
}

function line(random: SeededRandom): string {
  const count = random.int(0, 3);
  const ts = Array.from({ length: count }, () => timestamp(random));
  const vs = Array.from({ length: random.next() < 0.95 ? count : count + 1 }, () => value(random));
  // Most senders write metric, labels, timestamps, values in this order, without spaces.
  const l = labels(random);
  const members: string[] = [
    `"metric":"${pick(random, ["cpu", "cpu_usage", "mem:used", "c\\u0064", "bad.name", "", "cpu"])}"`,
    ...(l === undefined ? [] : [`"labels":${l}`]),
    `"timestamps":[${ts.join(",")}]`,
    `"values":[${vs.join(pick(random, [",", ",", " , "]))}]`,
  ];
  if (random.next() < 0.05) members.push('"unit":"s"');
  if (random.next() < 0.03) members.push('"values":[1]');
  if (random.next() < 0.03) members.splice(random.int(0, members.length - 1), 1);
  const order = random.next() < 0.7 ? members : random.shuffled(members);
  const ws = () => random.next() < 0.5 ? "" : pick(random, ["", "", "", " ", "\t"]);
  let text = `${ws()}{${ws()}${order.join(`${ws()},${ws()}`)}${ws()}}${ws()}`;
  const r = random.next();
  if (r < 0.03) text = text.slice(0, random.int(0, text.length - 1));
  else if (r < 0.05) text += pick(random, ["x", "\u00a0", "}", ","]);
  else if (r < 0.06) text = text.replace('"cpu"', '"c\u0001pu"');
  else if (r < 0.08) text += "\r";
  return text;
}

Deno.test("native scan: the cached fast path decodes exactly as JSON.parse does", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = seededRandom(seed);
    const body = Array.from({ length: 60 }, () => line(random)).join("\n");
    const expected = observed(decodeNative(body, "application/x-ndjson", base));
    const cached = { ...base, seriesCache: new SeriesCache(1024) };
    assert.deepEqual(
      observed(decodeNative(body, "application/x-ndjson", cached)),
      expected,
      `seed ${seed}, cold`,
    );
    assert.deepEqual(
      observed(decodeNative(body, "application/x-ndjson", cached)),
      expected,
      `seed ${seed}, warm`,
    );
    assert.ok(cached.seriesCache.stats.hits > 0, `seed ${seed}: the warm pass hit the cache`);
  }
});

Deno.test("native scan: decimals parse to the same double as JSON.parse", () => {
  const random = seededRandom(7);
  const cached = { ...base, seriesCache: new SeriesCache(16) };
  for (let round = 0; round < 50; round++) {
    const texts = Array.from({ length: 200 }, () => decimal(random));
    const body = texts.map((v) => `{"metric":"m","timestamps":[${NOW}],"values":[${v}]}`).join("\n");
    const result = decodeNative(body, "application/x-ndjson", cached);
    const values = Array.from(result.batch.values.subarray(0, result.batch.length));
    assert.deepEqual(values, texts.map((v) => JSON.parse(v)));
  }
});

Deno.test("native scan: a cached rejection is given again with its reason", () => {
  const cached = { ...base, seriesCache: new SeriesCache(16) };
  const body = `{"metric":"m","labels":{"bad-name":"x"},"timestamps":[${NOW}],"values":[1]}`;
  for (let pass = 0; pass < 2; pass++) {
    const result = decodeNative(body, "application/x-ndjson", cached);
    assert.equal(result.acceptedSamples, 0);
    assert.deepEqual(result.rejectedSeries, [{
      index: 0,
      metric: "m",
      reason: 'label name "bad-name" is not a valid name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)',
    }]);
    assert.deepEqual(result.rejectedSamples, { invalid_series: 1 });
  }
  assert.deepEqual(cached.seriesCache.stats, { hits: 1, misses: 1 });
});

Deno.test("native scan: a predicted series must match the whole line, not only its key", () => {
  const T = NOW - 1000;
  const warm = [
    `{"metric":"a","labels":{"x":"1"},"timestamps":[${T}],"values":[1]}`,
    `{"metric":"b","timestamps":[${T}],"values":[1]}`,
    `{"labels":{"q":"r"},"metric":"m","timestamps":[${T}],"values":[1]}`,
    `{"labels":{"q":"r"},"metric":"m","timestamps":[${T}],"values":[1]}`,
  ];
  const tricky = [
    warm[0],
    `{"metric":"b","timestamps":[${T}],"values":[1,2]}`, // b predicted, counts differ
    warm[2],
    `{"metric":"{"q":"r"},"metric":"m","timestamps":[${T}],"values":[2]}`, // the labels-first key, as a metric
    warm[0],
    `{"metric":"b","timestamps":[${T}],"values":[3]},`, // trailing comma
  ];
  const cached = { ...base, seriesCache: new SeriesCache(64) };
  decodeNative(warm.join("\n"), "application/x-ndjson", cached);
  const body = tricky.join("\n");
  assert.deepEqual(
    observed(decodeNative(body, "application/x-ndjson", cached)),
    observed(decodeNative(body, "application/x-ndjson", base)),
  );
  assert.deepEqual(
    decodeNative(body, "application/x-ndjson", base).rejectedSeries.map((r) => r.index),
    [1, 3, 5],
  );
});
