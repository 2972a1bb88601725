// Cardinality: the tenant's active series against its limits, the metrics with the
// most series, and the label names and values that make them (`GET /v1/cardinality`).
import { fillRows, v1 } from "./http.js";

const $ = (id) => document.getElementById(id);

const percent = (ratio) => `${(ratio * 100).toFixed(1)} %`;

export async function showCardinality() {
  const { body } = await v1("GET", "/v1/cardinality?limit=20");
  const { activeSeries, activeSeriesPerMetric } = body.limits;
  fillRows($("limit-rows"), [
    ["active series", `${activeSeries.used}`, `${activeSeries.limit}`, percent(activeSeries.ratio)],
    [
      `active series of one metric${
        activeSeriesPerMetric.metric ? ` (${activeSeriesPerMetric.metric})` : ""
      }`,
      `${activeSeriesPerMetric.used}`,
      `${activeSeriesPerMetric.limit}`,
      percent(activeSeriesPerMetric.ratio),
    ],
  ]);
  fillRows($("cardinality-rows"), body.topMetrics.map((m) => [m.metric, `${m.series}`]));
  fillRows($("label-name-rows"), (body.labelNames ?? []).map((l) => [l.name, `${l.series}`]));
  fillRows(
    $("label-value-rows"),
    (body.labelValues ?? []).map((l) => [l.name, l.value, `${l.series}`]),
  );
}
