// The Lookout dashboard: sign in with an API key, explore a metric with a chart (the
// Prometheus API that Grafana uses too), the alerts and their incident timelines, the
// rules editor and the cardinality view (the /v1 API). The key stays in
// sessionStorage; every request carries it as a Bearer token (http.js).
import { showIncidents, wireAlerts } from "./alerts.js";
import { showCardinality } from "./cardinality.js";
import { prom as api, session } from "./http.js";
import { showRules, wireRules } from "./rules.js";

const $ = (id) => document.getElementById(id);
const state = { chart: undefined, last: undefined };

async function signIn(key) {
  session.key = key;
  const metrics = await api("/api/v1/label/__name__/values");
  sessionStorage.setItem("lookout-key", key);
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("tenant-status").textContent = `signed in, ${metrics.length} metrics`;
  $("metric").replaceChildren(...metrics.map((m) => new Option(m, m)));
}

/** The PromQL the explorer's fields describe. */
export function promqlOf({ metric, filters, aggregation, groupBy }) {
  const selector = filters.trim() ? `${metric}{${filters.trim()}}` : metric;
  if (!aggregation) return selector;
  const by = groupBy.split(",").map((s) => s.trim()).filter(Boolean);
  return by.length > 0 ? `${aggregation} by (${by.join(", ")}) (${selector})` : `${aggregation}(${selector})`;
}

async function runQuery() {
  $("query-error").textContent = "";
  const query = promqlOf({
    metric: $("metric").value,
    filters: $("filters").value,
    aggregation: $("aggregation").value,
    groupBy: $("group-by").value,
  });
  $("promql").textContent = query;
  const seconds = Number($("range").value);
  const end = Math.floor(Date.now() / 1000);
  const step = Math.max(15, Math.ceil(seconds / 240 / 15) * 15);
  const start = Math.floor((end - seconds) / step) * step;
  try {
    const data = await api("/api/v1/query_range", { query, start, end, step });
    draw(data.result, start, end, step);
  } catch (error) {
    $("query-error").textContent = error.message;
  }
}

function labelText(metric) {
  const entries = Object.entries(metric).filter(([k]) => k !== "__name__");
  return `${metric.__name__ ?? ""}{${entries.map(([k, v]) => `${k}="${v}"`).join(", ")}}`;
}

function draw(result, start, end, step) {
  const times = [];
  for (let t = start; t <= end; t += step) times.push(t);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = result.map((s) => {
    const column = new Array(times.length).fill(null);
    for (const [t, v] of s.values) column[index.get(t)] = Number(v);
    return column;
  });
  const palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"];
  const options = {
    width: Math.max(600, document.body.clientWidth - 40),
    height: 360,
    series: [
      {},
      ...result.map((s, i) => ({ label: labelText(s.metric), stroke: palette[i % palette.length] })),
    ],
    axes: [{}, {}],
  };
  state.chart?.destroy();
  state.chart = new uPlot(options, [times, ...columns], $("chart"));
  const points = result.reduce((n, s) => n + s.values.length, 0);
  state.last = { result, times };
  $("chart-summary").textContent = `${result.length} series, ${points} points`;
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  try {
    await signIn($("api-key").value);
  } catch (error) {
    $("sign-in-error").textContent = error.message;
  }
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem("lookout-key");
  location.reload();
});
$("query-form").addEventListener("submit", (event) => {
  event.preventDefault();
  runQuery();
});
/** What each view loads when it is opened. */
const VIEWS = { alerts: showIncidents, rules: showRules, cardinality: showCardinality };
wireAlerts();
wireRules();
for (const button of document.querySelectorAll("nav button")) {
  button.addEventListener("click", () => {
    for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b === button);
    for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== button.dataset.view;
    const show = VIEWS[button.dataset.view];
    show?.().catch((e) => ($(`${button.dataset.view}-error`) ?? $("query-error")).textContent = e.message);
  });
}
// Exposed for the browser test: the chart's data and the answer it drew.
globalThis.lookout = { state };
if (session.key) signIn(session.key).catch(() => sessionStorage.removeItem("lookout-key"));
