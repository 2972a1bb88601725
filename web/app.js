// The Lookout dashboard: sign in with an API key, explore a metric with a chart, and
// see series per metric. It speaks only the Prometheus API that Grafana uses too.
// The key stays in sessionStorage; every request carries it as a Bearer token.

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem("lookout-key") ?? "", chart: undefined, last: undefined };

async function api(path, params = {}) {
  const body = new URLSearchParams(params);
  const res = await fetch(path, {
    method: "POST",
    headers: { authorization: `Bearer ${state.key}`, "content-type": "application/x-www-form-urlencoded" },
    body,
  });
  const json = await res.json().catch(() => ({}));
  if (res.status === 401) throw Object.assign(new Error("The API key was not accepted"), { status: 401 });
  if (json.status !== "success") throw new Error(json.error ?? json.detail ?? `HTTP ${res.status}`);
  return json.data;
}

async function signIn(key) {
  state.key = key;
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

async function showCardinality() {
  const data = await api("/api/v1/query", { query: 'count by (__name__) ({__name__=~".+"})' });
  const rows = data.result.sort((a, b) => Number(b.value[1]) - Number(a.value[1])).map((s) => {
    const tr = document.createElement("tr");
    for (const text of [s.metric.__name__, s.value[1]]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  $("cardinality-rows").replaceChildren(...rows);
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
for (const button of document.querySelectorAll("nav button")) {
  button.addEventListener("click", () => {
    for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b === button);
    for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== button.dataset.view;
    if (button.dataset.view === "cardinality") {
      showCardinality().catch((e) => ($("query-error").textContent = e.message));
    }
  });
}
// Exposed for the browser test: the chart's data and the answer it drew.
globalThis.lookout = { state };
if (state.key) signIn(state.key).catch(() => sessionStorage.removeItem("lookout-key"));
