/**
 * The same samples as request bodies of every ingest protocol, for
 * `bench/stage-protocols.ts`: `series` series of `bench_metric` with the five labels
 * of `workload.ts`, one sample per series per body, bodies of `seriesPerBody` series.
 * Each body is built in full before anything is measured.
 *
 * @example
 * const bodies = protocolBodies("influx", { series: 50_000, seriesPerBody: 10_000, rounds: 3, baseMs, stepMs: 10_000 });
 */
import * as snappyWasm from "snappy-wasm";
import { encodeOtlpRequest } from "../commands/ingest/otlp-proto.ts";
import { encodeRequestV2, encodeWriteRequestV1, toRequestV2 } from "../tests/support/remote-write-proto.ts";
import { DATADOG_METRIC, METRIC, sampleValue, seriesLabels } from "./workload.ts";

export type Protocol =
  | "remote-write-1"
  | "remote-write-2"
  | "influx"
  | "datadog-v1"
  | "otlp-json"
  | "otlp-protobuf";

export interface BodyShape {
  readonly series: number;
  readonly seriesPerBody: number;
  readonly rounds: number;
  readonly baseMs: number;
  readonly stepMs: number;
}

export interface Bodies {
  /** Per round, its bodies. */
  readonly rounds: Uint8Array[][];
  readonly samplesPerBody: number;
  readonly contentType: string;
  readonly contentEncoding?: string;
}

const encoder = new TextEncoder();

export async function protocolBodies(protocol: Protocol, shape: BodyShape): Promise<Bodies> {
  await (snappyWasm as unknown as { default: () => Promise<unknown> }).default();
  const rounds: Uint8Array[][] = [];
  for (let r = 0; r < shape.rounds; r++) {
    const bodies: Uint8Array[] = [];
    const ts = shape.baseMs + r * shape.stepMs;
    for (let first = 0; first < shape.series; first += shape.seriesPerBody) {
      const series = Array.from({ length: shape.seriesPerBody }, (_, i) => first + i);
      bodies.push(body(protocol, series, ts, r));
    }
    rounds.push(bodies);
  }
  const meta = {
    "remote-write-1": { contentType: "application/x-protobuf", contentEncoding: "snappy" },
    "remote-write-2": {
      contentType: "application/x-protobuf;proto=io.prometheus.write.v2.Request",
      contentEncoding: "snappy",
    },
    influx: { contentType: "text/plain" },
    "datadog-v1": { contentType: "application/json" },
    "otlp-json": { contentType: "application/json" },
    "otlp-protobuf": { contentType: "application/x-protobuf" },
  }[protocol];
  return { rounds, samplesPerBody: shape.seriesPerBody, ...meta };
}

function body(protocol: Protocol, series: number[], ts: number, round: number): Uint8Array {
  switch (protocol) {
    case "remote-write-1":
    case "remote-write-2": {
      const timeseries = series.map((s) => ({
        labels: [
          { name: "__name__", value: METRIC },
          ...seriesLabels(s).map(([name, value]) => ({ name, value })),
        ],
        samples: [{ value: sampleValue(s, round), timestamp: ts }],
      }));
      const raw = protocol === "remote-write-1"
        ? encodeWriteRequestV1({ timeseries })
        : encodeRequestV2(toRequestV2(timeseries));
      return snappyWasm.compress_raw(raw);
    }
    case "influx":
      return encoder.encode(
        series.map((s) =>
          `${METRIC}${seriesLabels(s).map(([k, v]) => `,${k}=${v}`).join("")} value=${
            sampleValue(s, round)
          } ${ts}`
        ).join("\n"),
      );
    case "datadog-v1":
      return encoder.encode(JSON.stringify({
        series: series.map((s) => ({
          metric: DATADOG_METRIC,
          type: "gauge",
          points: [[ts / 1000, sampleValue(s, round)]],
          tags: seriesLabels(s).map(([k, v]) => `${k}:${v}`),
        })),
      }));
    case "otlp-json":
    case "otlp-protobuf": {
      const request = {
        resourceMetrics: [{
          resource: { attributes: [{ key: "job", value: { stringValue: "node" } }] },
          scopeMetrics: [{
            metrics: [{
              name: METRIC,
              gauge: {
                dataPoints: series.map((s) => ({
                  attributes: seriesLabels(s).slice(1).map(([key, v]) => ({
                    key,
                    value: { stringValue: v },
                  })),
                  timeUnixNano: `${ts}000000`,
                  asDouble: sampleValue(s, round),
                })),
              },
            }],
          }],
        }],
      };
      return protocol === "otlp-json" ? encoder.encode(JSON.stringify(request)) : encodeOtlpRequest(request);
    }
    default: {
      const unknown: never = protocol;
      throw new Error(`unknown protocol ${unknown}`);
    }
  }
}
