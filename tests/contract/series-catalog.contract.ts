/**
 * The series-catalog contract: every implementation selects the same series for the
 * four matcher types, the missing-label-is-empty rule, metric-name matchers, the days
 * a series was seen and the tenant, and lists the same label names and values. A
 * catalog may answer `undefined` only where the port allows it (a pattern outside the
 * syntax it runs the way ClickHouse does); such a case then checks the fallback signal.
 */
import assert from "node:assert/strict";
import type { CatalogMatcher, CatalogSeries, SeriesCatalog } from "../../domain/ports/series-catalog.ts";
import { uniqueName } from "../support/analytics.ts";

const DAY_MS = 86_400_000;
const DAY = 20_400;
const AT = DAY * DAY_MS;

const FIXTURE: CatalogSeries[] = [
  { id: "101", metric: "up", labels: { job: "api", env: "prod" } },
  { id: "102", metric: "up", labels: { job: "web", env: "dev" } },
  { id: "103", metric: "up", labels: { job: "db" } },
  { id: "104", metric: "down", labels: { job: "api", env: "prod", path: "/é\nx" } },
  { id: "105", metric: "requests_total", labels: { job: "api", code: "500" } },
];

const eq = (name: string, value: string): CatalogMatcher => ({ name, type: "=", value });

export function seriesCatalogContract(name: string, make: () => Promise<SeriesCatalog>): void {
  const given = async () => {
    const catalog = await make();
    const tenant = uniqueName("catalog");
    await catalog.add(tenant, FIXTURE.slice(0, 4), DAY);
    await catalog.add(tenant, FIXTURE.slice(4), DAY - 3);
    await catalog.add(uniqueName("other"), [{ id: "101", metric: "up", labels: { job: "other" } }], DAY);
    const ids = async (matchers: CatalogMatcher[], from = AT, to = AT + 1000) => {
      const found = await catalog.match(tenant, matchers, from, to);
      return found === undefined ? undefined : found.map((s) => s.id).sort();
    };
    return { catalog, tenant, ids };
  };

  Deno.test(`${name}: the four matcher types and a missing label read as empty`, async () => {
    const { ids } = await given();
    assert.deepEqual(await ids([eq("__name__", "up"), eq("job", "api")]), ["101"]);
    assert.deepEqual(await ids([eq("__name__", "up"), { name: "job", type: "!=", value: "api" }]), [
      "102",
      "103",
    ]);
    assert.deepEqual(await ids([eq("__name__", "up"), { name: "job", type: "=~", value: "api|we." }]), [
      "101",
      "102",
    ]);
    assert.deepEqual(await ids([eq("__name__", "up"), { name: "job", type: "!~", value: "a.*" }]), [
      "102",
      "103",
    ]);
    assert.deepEqual(await ids([eq("__name__", "up"), eq("env", "")]), ["103"]);
    assert.deepEqual(await ids([eq("__name__", "up"), { name: "env", type: "!=", value: "" }]), [
      "101",
      "102",
    ]);
    assert.deepEqual(await ids([eq("__name__", "up"), { name: "env", type: "=~", value: "prod|" }]), [
      "101",
      "103",
    ]);
    // Anchored: "pi" alone does not match "api".
    assert.deepEqual(await ids([eq("__name__", "up"), { name: "job", type: "=~", value: "pi" }]), []);
  });

  Deno.test(`${name}: metric names by matcher, non-ASCII and newlines in values`, async () => {
    const { ids } = await given();
    assert.deepEqual(await ids([{ name: "__name__", type: "=~", value: "up|down" }, eq("job", "api")]), [
      "101",
      "104",
    ]);
    assert.deepEqual(await ids([{ name: "__name__", type: "!=", value: "up" }, eq("env", "prod")]), ["104"]);
    assert.deepEqual(await ids([eq("__name__", "down"), { name: "path", type: "=~", value: "/.\nx" }]), [
      "104",
    ]);
    assert.deepEqual(await ids([eq("__name__", "down"), { name: "path", type: "=~", value: "/é.x" }]), [
      "104",
    ]);
    assert.deepEqual(await ids([eq("__name__", "nothing")]), []);
  });

  Deno.test(`${name}: only series seen on a day of the range, only the tenant's own`, async () => {
    const { ids, catalog } = await given();
    assert.deepEqual(await ids([eq("__name__", "requests_total")]), []);
    assert.deepEqual(await ids([eq("__name__", "requests_total")], AT - 3 * DAY_MS, AT), ["105"]);
    assert.deepEqual(await ids([eq("__name__", "up")], AT + DAY_MS, AT + 2 * DAY_MS), []);
    assert.deepEqual(await catalog.match(uniqueName("nobody"), [eq("__name__", "up")], AT, AT), []);
  });

  Deno.test(`${name}: label names and values, of all series and of selectors`, async () => {
    const { catalog, tenant } = await given();
    const range = [AT - 3 * DAY_MS, AT + 1000] as const;
    assert.deepEqual(await catalog.labelNames(tenant, [], ...range), [
      "__name__",
      "code",
      "env",
      "job",
      "path",
    ]);
    assert.deepEqual(await catalog.labelNames(tenant, [[eq("__name__", "up")]], ...range), [
      "__name__",
      "env",
      "job",
    ]);
    assert.deepEqual(await catalog.labelValues(tenant, "job", [], ...range), ["api", "db", "web"]);
    assert.deepEqual(await catalog.labelValues(tenant, "__name__", [], ...range), [
      "down",
      "requests_total",
      "up",
    ]);
    assert.deepEqual(
      await catalog.labelValues(tenant, "env", [[eq("__name__", "up")], [eq("__name__", "down")]], ...range),
      ["dev", "prod"],
    );
  });

  Deno.test(`${name}: a pattern outside the shared syntax is answered right or handed back`, async () => {
    const { ids } = await given();
    const answer = await ids([eq("__name__", "up"), { name: "job", type: "=~", value: "(?i)API" }]);
    if (answer !== undefined) assert.deepEqual(answer, ["101"]);
    const posix = await ids([eq("__name__", "up"), { name: "job", type: "=~", value: "[[:alpha:]]+" }]);
    if (posix !== undefined) assert.deepEqual(posix, ["101", "102", "103"]);
  });
}
