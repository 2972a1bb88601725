/**
 * Ingest endpoints. A `202` means the batch is durably in the command log; nothing
 * here writes a database.
 *
 * - `POST /api/v2/series`: Datadog v2 JSON (`gzip`/`deflate`), replying
 *   `202 {"errors":[…]}` as the Datadog API does.
 * - `POST /api/v1/series`: Datadog v1 JSON, replying `202 {"status":"ok","errors":[…]}`;
 *   `GET /api/v1/validate` answers `{"valid":true}` for agents checking their key.
 * - `POST /v1/samples`: the native format, JSON or NDJSON.
 * - `POST /write` (Influx 1.x) and `POST /api/v2/write`: Influx line protocol
 *   (`gzip`), replying `204`, or `400` with Influx's error body when some lines or
 *   fields were not written (the rest are stored).
 * - `POST /v1/metrics` and `/otlp/v1/metrics`: OTLP/HTTP metrics, protobuf or JSON,
 *   replying `200` with an `ExportMetricsServiceResponse` in the request's encoding,
 *   carrying `partial_success` when points were rejected (see `otlp-reply.ts`).
 * - `POST /api/v1/write`: Prometheus remote write 1.0 and 2.0 (snappy block), replying
 *   `204`, or `400` naming what was not written (see `remote-write-reply.ts`).
 *
 * Series that fail validation are listed with their reason while the valid ones in
 * the same request are kept; a request with nothing valid in it gets `400`. The
 * `Idempotency-Key` header, or without one the SHA-256 of the decompressed body,
 * makes a retried request count once.
 */
import { createHash } from "node:crypto";
import { type Context, Hono } from "hono";
import { PayloadTooLarge } from "../../domain/errors.ts";
import type { LabelLimits } from "../../domain/label-rules.ts";
import { appendSamples, type SampleLog } from "../../commands/ingest/append-samples.ts";
import { decodeDatadogV1 } from "../../commands/ingest/datadog-v1.ts";
import { decodeDatadogV2 } from "../../commands/ingest/datadog-v2.ts";
import type { DecodeContext, DecodeResult } from "../../commands/ingest/decode-context.ts";
import { decodeInflux, influxPrecision } from "../../commands/ingest/influx.ts";
import { decodeNative } from "../../commands/ingest/native.ts";
import type { OtlpResult } from "../../commands/ingest/otlp.ts";
import { decodeRemoteWriteV1 } from "../../commands/ingest/remote-write-v1.ts";
import { decodeRemoteWriteV2 } from "../../commands/ingest/remote-write-v2.ts";
import type { RemoteWriteResult } from "../../commands/ingest/remote-write-series.ts";
import { SeriesCache } from "../../commands/ingest/series-cache.ts";
import { type BodyLimits, readBody } from "./read-body.ts";
import { readRemoteWriteBody, remoteWriteReply, remoteWriteVersion } from "./remote-write-reply.ts";
import { snappyBlock } from "./snappy-block.ts";
import { decodeOtlpBody, otlpEncoding, otlpReply } from "./otlp-reply.ts";
import { problem } from "./problem.ts";
import type { IngestLimits } from "./ingest-limits.ts";
import type { Telemetry } from "../telemetry.ts";
import type { TenantEnv } from "./app.ts";

export interface IngestOptions {
  readonly sampleLog: SampleLog;
  readonly telemetry: Telemetry;
  readonly body: BodyLimits;
  readonly labels: LabelLimits;
  readonly rawRetentionMs: number;
  readonly maxFutureMs: number;
  readonly now: () => number;
  /** Series remembered per tenant by the decoders (see `SeriesCache`); default 262,144. */
  readonly seriesCacheEntries?: number;
  /** Per-tenant ingest rate and active-series limits; none when absent. */
  readonly limits?: IngestLimits;
}

const decoder = new TextDecoder();

/**
 * `204` when everything was written; otherwise `400` with both Influx error shapes,
 * 2.x `{"code","message"}` and 1.x `{"error"}`, saying how much was written.
 */
function influxReply(result: DecodeResult): Response {
  if (result.rejectedSeries.length === 0) return new Response(null, { status: 204 });
  const listed = result.rejectedSeries.slice(0, 20).map((r) =>
    `${r.metric ? `${r.metric}: ` : ""}${r.reason}`
  );
  const message = `partial write: ${result.acceptedSamples} samples written, ` +
    `${result.rejectedSeries.length} rejected: ${listed.join("; ")}`;
  return Response.json({ code: "invalid", message, error: message }, { status: 400 });
}

function datadogErrors(result: DecodeResult): string[] {
  return result.rejectedSeries.map((r) => `series ${r.index} (${r.metric ?? "?"}): ${r.reason}`);
}

export function ingestRoutes(options: IngestOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();
  const caches = new Map<string, SeriesCache>();
  const cacheOf = (tenant: string): SeriesCache => {
    let cache = caches.get(tenant);
    if (cache === undefined) {
      cache = new SeriesCache(options.seriesCacheEntries ?? 262_144);
      caches.set(tenant, cache);
    }
    return cache;
  };

  const snappy = snappyBlock();
  const limits = options.limits;
  if (limits) {
    options.telemetry.gauge(
      "lookout_active_series",
      "Active series per tenant, as the cardinality limit counts them.",
      () => Promise.resolve(limits.tenants().map(([tenant, active]) => [{ tenant }, active.count] as const)),
    );
  }

  const rateLimited = (
    c: Context<TenantEnv>,
    tenant: string,
    why: string,
    retryAfterMs: number,
    samples: number,
  ) => {
    const reason = "rate_limited";
    if (samples > 0) options.telemetry.count("lookout_samples_rejected_total", { tenant, reason }, samples);
    options.telemetry.count("lookout_requests_rejected_total", { tenant, reason });
    c.header("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    return problem(c, 429, reason, `Cannot ingest for tenant "${tenant}": ${why}`);
  };

  /**
   * Reads, decodes and appends one request. `rejectAll` answers a request in which
   * nothing is valid (default: `400` problem+json listing every series' reason).
   */
  const accept = async <R extends DecodeResult>(
    c: Context<TenantEnv>,
    decode: (bytes: Uint8Array, ctx: DecodeContext) => R,
    reply: (result: R) => Response,
    read: () => Promise<Uint8Array> = () =>
      readBody(c.req.raw.body, c.req.header("content-encoding"), options.body),
    rejectAll?: (result: R) => Response,
  ): Promise<Response> => {
    const tenant = c.get("tenant");
    const now = options.now();
    // A tenant whose bucket is empty is refused before its body is read or decoded,
    // so a flood of refused requests costs other tenants next to nothing.
    const bucket = options.limits?.rate(tenant, now);
    const early = bucket?.precheck(now);
    if (early !== undefined && !early.ok) {
      await c.req.raw.body?.cancel().catch(() => {});
      return rateLimited(c, tenant, early.reason, early.retryAfterMs, 0);
    }
    const bytes = await read().catch((error) => {
      if (error instanceof PayloadTooLarge) {
        options.telemetry.count("lookout_requests_rejected_total", { tenant, reason: "payload_too_large" });
      }
      throw error;
    });
    const active = options.limits?.series(tenant, now);
    const result = decode(bytes, {
      tenant,
      limits: options.labels,
      now,
      maxAgeMs: options.rawRetentionMs,
      maxFutureMs: options.maxFutureMs,
      seriesCache: cacheOf(tenant),
      admit: active && ((def) => active.admit(def.id, def.metric, now)),
    });
    for (const [reason, count] of Object.entries(result.rejectedSamples)) {
      options.telemetry.count("lookout_samples_rejected_total", { tenant, reason }, count);
    }
    const verdict = bucket?.take(result.acceptedSamples, now);
    if (verdict !== undefined && !verdict.ok) {
      return rateLimited(c, tenant, verdict.reason, verdict.retryAfterMs, result.acceptedSamples);
    }
    if (result.acceptedSamples === 0 && result.rejectedSeries.length > 0) {
      if (rejectAll) return rejectAll(result);
      return problem(c, 400, "validation", "Cannot ingest: no series in the request is valid", {
        errors: result.rejectedSeries,
      });
    }
    const key = c.req.header("idempotency-key") ?? createHash("sha256").update(bytes).digest("hex");
    const { duplicate } = await appendSamples(options.sampleLog, result.batch, key);
    if (!duplicate) {
      options.telemetry.count("lookout_samples_accepted_total", { tenant }, result.acceptedSamples);
    }
    return reply(result);
  };

  app.post("/api/v2/series", (c) =>
    accept(
      c,
      (bytes, ctx) => decodeDatadogV2(JSON.parse(decoder.decode(bytes)), ctx),
      (result) => c.json({ errors: datadogErrors(result) }, 202),
    ));

  app.post("/api/v1/series", (c) =>
    accept(
      c,
      (bytes, ctx) => decodeDatadogV1(JSON.parse(decoder.decode(bytes)), ctx),
      (result) => c.json({ status: "ok", errors: datadogErrors(result) }, 202),
    ));
  app.get("/api/v1/validate", (c) => c.json({ valid: true }));

  app.post("/v1/samples", (c) =>
    accept(
      c,
      (bytes, ctx) => decodeNative(decoder.decode(bytes), c.req.header("content-type") ?? "", ctx),
      (result) =>
        c.json({
          accepted: result.acceptedSamples,
          rejectedSamples: result.rejectedSamples,
          errors: result.rejectedSeries,
        }, 202),
    ));

  const influx = (c: Context<TenantEnv>) => {
    const precision = influxPrecision(c.req.query("precision"));
    return accept(
      c,
      (bytes, ctx) => decodeInflux(decoder.decode(bytes), precision, ctx),
      influxReply,
      undefined,
      influxReply,
    );
  };
  app.post("/write", influx);
  app.post("/api/v2/write", influx);

  const otlp = (c: Context<TenantEnv>) => {
    const encoding = otlpEncoding(c.req.header("content-type"));
    const reply = (result: OtlpResult) => otlpReply(result, encoding);
    return accept(c, (bytes, ctx) => decodeOtlpBody(bytes, encoding, ctx), reply, undefined, reply);
  };
  app.post("/v1/metrics", otlp);
  app.post("/otlp/v1/metrics", otlp);

  app.post("/api/v1/write", (c) => {
    const version = remoteWriteVersion(c.req.header("content-type"));
    // Per version, so an operator sees which senders have moved to 2.0.
    options.telemetry.count("lookout_remote_write_requests_total", {
      tenant: c.get("tenant"),
      version: version === 2 ? "2.0" : "1.0",
    });
    const decode = version === 2 ? decodeRemoteWriteV2 : decodeRemoteWriteV1;
    const reply = (result: RemoteWriteResult) => remoteWriteReply(result, version);
    return accept(
      c,
      decode,
      reply,
      () => readRemoteWriteBody(c.req.raw, options.body, snappy),
      reply,
    );
  });

  return app;
}
