/**
 * The OTLP metrics messages (opentelemetry-proto `collector/metrics/v1` and
 * `metrics/v1`), trimmed to what ingest reads, for protobufjs. A protobuf body is
 * decoded by protobufjs into the same plain shape that the OTLP/JSON encoding has
 * (lowerCamelCase names, 64-bit integers as decimal strings, enums as numbers), so one
 * walker (`otlp.ts`) serves both encodings.
 *
 * @example
 * const request = decodeOtlpProtobuf(bytes); // { resourceMetrics: [...] }
 * const reply = encodeOtlpResponse({ rejectedDataPoints: "2", errorMessage: "…" });
 */
import protobuf from "protobufjs";
import { ValidationError } from "../../domain/errors.ts";

const PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ExportMetricsServiceResponse { ExportMetricsPartialSuccess partial_success = 1; }
message ExportMetricsPartialSuccess { int64 rejected_data_points = 1; string error_message = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message Metric {
  string name = 1;
  string description = 2;
  string unit = 3;
  oneof data {
    Gauge gauge = 5;
    Sum sum = 7;
    Histogram histogram = 9;
    ExponentialHistogram exponential_histogram = 10;
    Summary summary = 11;
  }
  repeated KeyValue metadata = 12;
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint {
  repeated KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
  uint32 flags = 8;
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7;
  uint32 flags = 10;
}
message ExponentialHistogramDataPoint {
  repeated KeyValue attributes = 1;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
}
message SummaryDataPoint {
  repeated KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  double sum = 5;
  repeated ValueAtQuantile quantile_values = 6;
  uint32 flags = 8;
}
message ValueAtQuantile { double quantile = 1; double value = 2; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
`;

const root = protobuf.parse(PROTO).root;
const Request = root.lookupType("opentelemetry.proto.ExportMetricsServiceRequest");
const Response = root.lookupType("opentelemetry.proto.ExportMetricsServiceResponse");

/** A protobuf `ExportMetricsServiceRequest` in the OTLP/JSON shape. */
export function decodeOtlpProtobuf(bytes: Uint8Array): unknown {
  let message: protobuf.Message;
  try {
    message = Request.decode(bytes);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ValidationError(`Cannot ingest OTLP metrics: the protobuf body is malformed (${why})`);
  }
  return Request.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false });
}

const MESSAGES = {
  Resource: root.lookupType("opentelemetry.proto.Resource"),
  KeyValue: root.lookupType("opentelemetry.proto.KeyValue"),
  Metric: root.lookupType("opentelemetry.proto.Metric"),
};

/** One embedded message in the OTLP/JSON shape, for the hand reader's rare paths (`otlp-wire.ts`). */
export function decodeOtlpMessage(type: keyof typeof MESSAGES, bytes: Uint8Array): unknown {
  const message = MESSAGES[type];
  return message.toObject(message.decode(bytes), {
    longs: String,
    enums: Number,
    bytes: String,
    defaults: false,
  });
}

export interface PartialSuccess {
  readonly rejectedDataPoints: number;
  readonly errorMessage: string;
}

/** `ExportMetricsServiceResponse`, with `partial_success` only when something was rejected. */
export function encodeOtlpResponse(partial: PartialSuccess | undefined): Uint8Array {
  const body = partial === undefined ? {} : {
    partialSuccess: { rejectedDataPoints: partial.rejectedDataPoints, errorMessage: partial.errorMessage },
  };
  return Response.encode(Response.fromObject(body)).finish();
}

/** A request in the OTLP/JSON shape as protobuf bytes (for tests and benchmarks). */
export function encodeOtlpRequest(request: unknown): Uint8Array {
  return Request.encode(Request.fromObject(request as Record<string, unknown>)).finish();
}
