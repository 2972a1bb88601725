/**
 * Scrapes Prometheus text endpoints, so an application's `/metrics` reaches Lookout
 * without a Prometheus in between. Each target's samples get `job` and `instance`
 * labels (unless the target already sets them) and, as Prometheus adds them,
 * `up`, `scrape_duration_seconds` and `scrape_samples_scraped`.
 *
 * @example
 * const scraper = new Scraper({ targets: [{ url: "http://127.0.0.1:3000/metrics", job: "app" }] });
 * const samples = await scraper.scrapeAll(Date.now());
 */
import type { AgentSample } from "../../domain/agent/native-batch.ts";
import { parsePrometheusText } from "../../domain/agent/prometheus-text.ts";

export interface ScrapeTarget {
  readonly url: string;
  readonly job: string;
}

export interface ScraperOptions {
  readonly targets: readonly ScrapeTarget[];
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export class Scraper {
  readonly #options: ScraperOptions;
  /** Lines that could not be parsed, since the start. */
  parseErrors = 0;

  constructor(options: ScraperOptions) {
    this.#options = options;
  }

  async scrapeAll(now: number): Promise<AgentSample[]> {
    const results = await Promise.all(this.#options.targets.map((t) => this.#scrape(t, now)));
    return results.flat();
  }

  async #scrape(target: ScrapeTarget, now: number): Promise<AgentSample[]> {
    const instance = new URL(target.url).host;
    const own = { job: target.job, instance };
    const started = performance.now();
    let samples: AgentSample[] = [];
    let up = 0;
    try {
      const response = await (this.#options.fetch ?? fetch)(target.url, {
        headers: { accept: "text/plain;version=0.0.4" },
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
      });
      const text = await response.text();
      if (response.ok) {
        const parsed = parsePrometheusText(text);
        this.parseErrors += parsed.errors.length;
        samples = parsed.samples.map((s) => ({ ...s, labels: { ...own, ...s.labels } }));
        up = 1;
      }
    } catch {
      up = 0;
    }
    const seconds = (performance.now() - started) / 1000;
    return [
      ...samples,
      { metric: "up", labels: own, value: up, timestamp: now },
      { metric: "scrape_duration_seconds", labels: own, value: seconds, timestamp: now },
      { metric: "scrape_samples_scraped", labels: own, value: samples.length, timestamp: now },
    ];
  }
}
