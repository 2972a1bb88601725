/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by
 * playwright-core against the real program. Signs in with an API key (a wrong key is
 * refused first), runs a query in the explorer and checks that the chart holds exactly
 * the points `/api/v1/query_range` returns for the same query, opens the cardinality
 * view, then creates a rule and breaches it through the API and opens the incident's
 * timeline in the alerts view (the transitions the API's timeline lists), and edits
 * the rule in the rules editor (saved with If-Match, version 2). Screenshots go to
 * tests/.artifacts/.
 *
 * Needs `chromium` (scripts/install-chromium.sh): fails in CI without it, skipped with a
 * message elsewhere.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { chromiumPath } from "../support/chromium.ts";
import { DEFAULT_TENANTS, withProgram } from "../support/program.ts";
import { ALERTING_TEST_ENV, cpuHighSpec } from "../support/rule-spec.ts";
import { waitFor } from "../support/wait-for.ts";

const executablePath = chromiumPath();
if (!executablePath && Deno.env.get("CI") === "true") {
  throw new Error("chromium is required in CI; .ci/run installs it with scripts/install-chromium.sh");
}
if (!executablePath) {
  console.warn("dashboard browser test: skipped; run scripts/install-chromium.sh to enable");
}

const ARTIFACTS = new URL("../.artifacts/", import.meta.url).pathname;

Deno.test({
  name:
    "dashboard: sign in, explore a metric, the chart draws the points the API returns; an incident's timeline; the rules editor",
  ignore: !executablePath,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await withProgram({ env: ALERTING_TEST_ENV }, async (program) => {
      const key = DEFAULT_TENANTS.acme;
      const now = Math.floor(Date.now() / 15_000) * 15_000;
      const times = Array.from({ length: 200 }, (_, i) => now - 50 * 60_000 + i * 15_000);
      const lines = ["eu", "us"].flatMap((region) =>
        ["h1", "h2"].map((host, h) =>
          JSON.stringify({
            metric: "cpu_usage",
            labels: { region, host },
            timestamps: times,
            values: times.map((_, i) => (i % 20) + h * 5 + (region === "eu" ? 0 : 40)),
          })
        )
      );
      const res = await program.post("/v1/samples", lines.join("\n"), {
        key,
        contentType: "application/x-ndjson",
      });
      assert.equal(res.status, 202);
      await program.waitForProjected();

      const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
        await page.goto(`${program.url}/`);
        await page.fill("#api-key", "not-a-key-123");
        await page.click("#sign-in-form button");
        await page.waitForSelector("#sign-in-error:has-text('not accepted')");
        await page.fill("#api-key", key);
        await page.click("#sign-in-form button");
        await page.waitForSelector("#app:not([hidden])");
        assert.deepEqual(await page.$$eval("#metric option", (os) => os.map((o) => o.textContent)), [
          "cpu_usage",
        ]);

        await page.selectOption("#aggregation", "avg");
        await page.fill("#group-by", "region");
        await page.click("#query-form button");
        await page.waitForSelector("#chart .u-over");
        await page.waitForSelector("#chart-summary:has-text('points')");
        await page.screenshot({ path: `${ARTIFACTS}dashboard-explorer.png`, fullPage: true });
        assert.equal(await page.textContent("#promql"), "avg by (region) (cpu_usage)");

        // What the chart holds, against the API's answer for the same query and grid.
        type Drawn = { data: (number | null)[][]; labels: string[] };
        const drawn: Drawn = await page.evaluate(() => {
          const chart = (globalThis as unknown as {
            lookout: { state: { chart: { data: (number | null)[][]; series: { label?: string }[] } } };
          }).lookout.state.chart;
          return {
            data: chart.data.map((column) => [...column]),
            labels: chart.series.slice(1).map((s) => s.label!),
          };
        });
        const [times2, ...columns] = drawn.data;
        const start = times2[0]!;
        const step = times2[1]! - times2[0]!;
        const end = times2[times2.length - 1]!;
        const api = await program.get(
          `/api/v1/query_range?${new URLSearchParams({
            query: "avg by (region) (cpu_usage)",
            start: String(start),
            end: String(end),
            step: String(step),
          })}`,
          key,
        );
        const result =
          (api.body as { data: { result: { metric: { region: string }; values: [number, string][] }[] } })
            .data.result;
        assert.equal(result.length, 2);
        assert.deepEqual(drawn.labels, result.map((s) => `{region="${s.metric.region}"}`));
        result.forEach((series, i) => {
          const expected = new Map(series.values.map(([t, v]) => [t, Number(v)]));
          const plotted = new Map(
            times2.map((t, j) => [t!, columns[i][j]] as const).filter(([, v]) => v !== null),
          );
          assert.deepEqual(plotted, expected);
        });
        assert.ok(result.every((s) => s.values.length > 100), "the chart covers the hour");

        await page.click("nav button[data-view=cardinality]");
        await page.waitForSelector("#cardinality-rows tr");
        assert.deepEqual(
          await page.$$eval("#cardinality-rows td", (tds) => tds.map((td) => td.textContent)),
          ["cpu_usage", "4"],
        );
        await page.screenshot({ path: `${ARTIFACTS}dashboard-cardinality.png`, fullPage: true });

        // A rule, breached through the API: three samples over 90 within the window.
        const rule = await program.post(
          "/v1/rules",
          cpuHighSpec({ for: "10s", window: "30s", noData: undefined }),
          {
            key,
          },
        );
        assert.equal(rule.status, 201, JSON.stringify(rule.body));
        const ruleId = (rule.body as { id: string }).id;
        // The evaluator loads the rule through metrics.commands; give it a moment to.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const t = Date.now() - 120_000;
        for (const [at, value] of [[t, 95], [t + 5_000, 96], [t + 15_000, 97]]) {
          const reply = await program.post("/v1/samples", {
            metric: "cpu_usage",
            labels: { service: "api", host: "web-1" },
            timestamps: [at],
            values: [value],
          }, { key });
          assert.equal(reply.status, 202);
        }
        const incident = await waitFor(
          async () => {
            const list = await program.get("/v1/incidents", key);
            return (list.body as {
              incidents: { id: string; status: string; labels: Record<string, string> }[];
            })
              .incidents[0];
          },
          30_000,
          { what: "the incident" },
        );
        const timeline = await program.get(`/v1/incidents/${incident.id}/timeline`, key);
        const events = (timeline.body as { timeline: { type: string; why: string }[] }).timeline;
        assert.ok(events.length >= 2, JSON.stringify(events));

        await page.click("nav button[data-view=alerts]");
        await page.waitForSelector("#incident-rows tr");
        assert.deepEqual(
          await page.$$eval("#incident-rows tr td", (tds) => tds.slice(0, 3).map((td) => td.textContent)),
          [
            "cpu_high",
            Object.entries(incident.labels).map(([k, v]) => `${k}="${v}"`).join(", "),
            incident.status,
          ],
        );
        await page.click("#incident-rows tr");
        await page.waitForSelector("#timeline-rows tr");
        const drawnTimeline = await page.$$eval(
          "#timeline-rows tr",
          (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)),
        );
        assert.deepEqual(
          drawnTimeline.map((cells) => [cells[1], cells[5]]),
          events.map((e) => [e.type.replace(/^Incident/, ""), e.why]),
        );
        assert.match(drawnTimeline[0][5]!, /> 90 \(critical\)/);
        await page.screenshot({ path: `${ARTIFACTS}dashboard-incident-timeline.png`, fullPage: true });

        // The rules editor: open the rule, raise its threshold, save (PUT with If-Match).
        await page.click("nav button[data-view=rules]");
        await page.waitForSelector("#rule-rows tr:has-text('cpu_high')");
        await page.click("#rule-rows tr:has-text('cpu_high')");
        const edited = JSON.parse(await page.inputValue("#rule-spec"));
        assert.equal(edited.condition.critical, 90);
        edited.condition.critical = 95;
        await page.fill("#rule-spec", JSON.stringify(edited, null, 2));
        await page.click("#rule-save");
        await page.waitForSelector("#rule-status:has-text('version 2')");
        const saved = await program.get(`/v1/rules/${ruleId}`, key);
        assert.deepEqual(
          [
            (saved.body as { version: number }).version,
            (saved.body as { condition: { critical: number } }).condition.critical,
          ],
          [2, 95],
        );
        await page.screenshot({ path: `${ARTIFACTS}dashboard-rules.png`, fullPage: true });
      } finally {
        await browser.close();
      }
    });
  },
});
