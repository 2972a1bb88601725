/**
 * Prometheus remote write 1.0 (`prometheus.WriteRequest`) and 2.0
 * (`io.prometheus.write.v2.Request`) messages in protobufjs, from the .proto files of
 * the Prometheus repository (prompb/types.proto, prompb/remote.proto and
 * prompb/io/prometheus/write/v2/types.proto), trimmed to the fields ingest reads plus
 * the histogram and exemplar fields it must skip. Tests encode payloads with this
 * library and compare the hand-written decoder with its decoding; the benchmark runs
 * both.
 *
 * @example
 * const bytes = encodeWriteRequestV1({ timeseries: [{ labels: [{ name: "__name__", value: "up" }],
 *   samples: [{ value: 1, timestamp: Date.now() }] }] });
 */
import protobuf from "protobufjs";

const PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest {
  repeated TimeSeries timeseries = 1;
  repeated MetricMetadata metadata = 3;
}
message MetricMetadata {
  int32 type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}
message Sample { double value = 1; int64 timestamp = 2; }
message Exemplar { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
message Histogram {
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  uint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  int32 reset_hint = 14;
  int64 timestamp = 15;
}
message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  repeated Exemplar exemplars = 3;
  repeated Histogram histograms = 4;
}
message Label { string name = 1; string value = 2; }
`;

const PROTO_V2 = `
syntax = "proto3";
package io.prometheus.write.v2;
message Request {
  repeated string symbols = 4;
  repeated TimeSeries timeseries = 5;
}
message TimeSeries {
  repeated uint32 labels_refs = 1;
  repeated Sample samples = 2;
  repeated Histogram histograms = 3;
  repeated Exemplar exemplars = 4;
  Metadata metadata = 5;
  int64 created_timestamp = 6;
}
message Exemplar { repeated uint32 labels_refs = 1; double value = 2; int64 timestamp = 3; }
message Sample { double value = 1; int64 timestamp = 2; }
message Metadata { int32 type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }
message Histogram {
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  int64 timestamp = 15;
}
`;

const v1 = protobuf.parse(PROTO, { keepCase: true }).root;
const v2 = protobuf.parse(PROTO_V2, { keepCase: true }).root;

export const WriteRequestV1 = v1.lookupType("prometheus.WriteRequest");
export const RequestV2 = v2.lookupType("io.prometheus.write.v2.Request");

export interface LabelPb {
  name: string;
  value: string;
}
export interface SamplePb {
  value: number;
  timestamp: number;
}
export interface TimeSeriesV1 {
  labels: LabelPb[];
  samples?: SamplePb[];
  exemplars?: { labels: LabelPb[]; value: number; timestamp: number }[];
  histograms?: Record<string, unknown>[];
}
export interface WriteRequestV1Message {
  timeseries: TimeSeriesV1[];
  metadata?: Record<string, unknown>[];
}
export interface TimeSeriesV2 {
  labels_refs: number[];
  samples?: SamplePb[];
  histograms?: Record<string, unknown>[];
  exemplars?: { labels_refs: number[]; value: number; timestamp: number }[];
  metadata?: Record<string, unknown>;
}
export interface RequestV2Message {
  symbols: string[];
  timeseries: TimeSeriesV2[];
}

/** A v1 series from a metric name, labels and `[timestamp, value]` samples. */
export function series(
  name: string,
  labels: Record<string, string>,
  samples: [number, number][],
): TimeSeriesV1 {
  return {
    labels: [
      { name: "__name__", value: name },
      ...Object.entries(labels).map(([n, v]) => ({ name: n, value: v })),
    ],
    samples: samples.map(([timestamp, value]) => ({ timestamp, value })),
  };
}

export function encodeWriteRequestV1(message: WriteRequestV1Message): Uint8Array {
  return WriteRequestV1.encode(WriteRequestV1.fromObject(message)).finish();
}

export function encodeRequestV2(message: RequestV2Message): Uint8Array {
  return RequestV2.encode(RequestV2.fromObject(message)).finish();
}

/** protobufjs' decoding, with int64 timestamps as numbers. */
export function decodeWriteRequestV1(bytes: Uint8Array): WriteRequestV1Message {
  return WriteRequestV1.toObject(WriteRequestV1.decode(bytes), {
    longs: Number,
    arrays: true,
  }) as WriteRequestV1Message;
}

export function decodeRequestV2(bytes: Uint8Array): RequestV2Message {
  return RequestV2.toObject(RequestV2.decode(bytes), { longs: Number, arrays: true }) as RequestV2Message;
}

/**
 * Builds a v2 request from v1-shaped series: interns every label string in a symbol
 * table whose first entry is the empty string, as the 2.0 spec requires.
 */
export function toRequestV2(series: TimeSeriesV1[]): RequestV2Message {
  const symbols = [""];
  const index = new Map<string, number>([["", 0]]);
  const ref = (s: string) => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const timeseries = series.map((s) => ({
    labels_refs: s.labels.flatMap((l) => [ref(l.name), ref(l.value)]),
    samples: s.samples ?? [],
    ...(s.histograms ? { histograms: s.histograms } : {}),
  }));
  return { symbols, timeseries };
}
