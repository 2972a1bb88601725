/**
 * Lookout's own metrics in the Prometheus text format (`GET /metrics`): counters
 * kept in the process, and gauges read when scraped (log size, projection lag).
 *
 * @example
 * const telemetry = new Telemetry();
 * telemetry.count("lookout_samples_rejected_total", { tenant, reason }, 3);
 * telemetry.gauge("lookout_log_end_offset", "…", async () => [[{ partition: "0" }, 42]]);
 */
type LabelSet = Readonly<Record<string, string>>;
type GaugeReader = () => Promise<readonly (readonly [LabelSet, number])[]>;

interface Family {
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly series: Map<string, { labels: LabelSet; value: number }>;
  readonly read?: GaugeReader;
}

const HELP: Record<string, string> = {
  lookout_samples_accepted_total: "Samples accepted into the command log.",
  lookout_samples_rejected_total: "Samples rejected at ingest, by reason.",
  lookout_requests_total: "Ingest and query requests by route and status.",
  lookout_requests_rejected_total: "Ingest requests refused as a whole, by tenant and reason.",
  lookout_remote_write_requests_total: "Remote write requests by tenant and protocol version (1.0, 2.0).",
  lookout_late_samples_total: "Samples that arrived after their rollup window closed.",
  lookout_projected_samples_total: "Samples written by each projection.",
  lookout_projection_errors_total: "Failed projection attempts (retried or dead-lettered).",
  lookout_rollup_packed_hours_total: "Tenant hours of the 1h tier packed into rows per series and day.",
  lookout_query_selections_total:
    "PromQL selections by the path that answered them: the head of recent samples or ClickHouse.",
};

export class Telemetry {
  readonly #families = new Map<string, Family>();

  count(name: string, labels: LabelSet, by = 1): void {
    let family = this.#families.get(name);
    if (!family) {
      family = { help: HELP[name] ?? name, type: "counter", series: new Map() };
      this.#families.set(name, family);
    }
    const key = JSON.stringify(labels);
    const entry = family.series.get(key);
    if (entry) entry.value += by;
    else family.series.set(key, { labels, value: by });
  }

  counter(name: string, labels: LabelSet): number {
    return this.#families.get(name)?.series.get(JSON.stringify(labels))?.value ?? 0;
  }

  gauge(name: string, help: string, read: GaugeReader): void {
    this.#families.set(name, { help, type: "gauge", series: new Map(), read });
  }

  async render(): Promise<string> {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      const series = family.read
        ? (await family.read()).map(([labels, value]) => ({ labels, value }))
        : [...family.series.values()];
      for (const { labels, value } of series) lines.push(`${name}${formatLabels(labels)} ${value}`);
    }
    return lines.join("\n") + "\n";
  }
}

function formatLabels(labels: LabelSet): string {
  const parts = Object.entries(labels).map(([k, v]) =>
    `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")}"`
  );
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}
