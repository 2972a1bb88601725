/**
 * The HTTP side of OTLP/HTTP metrics (`POST /v1/metrics`, `/otlp/v1/metrics`): the
 * request's encoding from its content type, its body decoded into a sample batch,
 * and the reply in the same encoding.
 *
 * The reply is `200` with an `ExportMetricsServiceResponse`; when points were
 * rejected it carries `partial_success` with their number and the first reasons, as
 * the OTLP specification asks, so exporters log it and do not retry. A body that is
 * not a request at all is `400`; another content type `415`.
 *
 * @example
 * const encoding = otlpEncoding(c.req.header("content-type")); // "protobuf" | "json"
 */
import type { DecodeContext } from "../../commands/ingest/decode-context.ts";
import { decodeOtlp, type OtlpResult } from "../../commands/ingest/otlp.ts";
import { encodeOtlpResponse } from "../../commands/ingest/otlp-proto.ts";
import { decodeOtlpWire } from "../../commands/ingest/otlp-wire.ts";
import { UnsupportedMediaType, ValidationError } from "../../domain/errors.ts";

export type OtlpEncoding = "protobuf" | "json";

const text = new TextDecoder();

export function otlpEncoding(contentType: string | undefined): OtlpEncoding {
  const mediaType = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType === "application/x-protobuf") return "protobuf";
  if (mediaType === "application/json") return "json";
  throw new UnsupportedMediaType(
    `Cannot ingest OTLP metrics: content type "${
      contentType ?? ""
    }" is not application/x-protobuf or application/json`,
  );
}

/** Protobuf through the hand reader (`otlp-wire.ts`), JSON through `JSON.parse` and the walker. */
export function decodeOtlpBody(bytes: Uint8Array, encoding: OtlpEncoding, ctx: DecodeContext): OtlpResult {
  if (encoding === "protobuf") return decodeOtlpWire(bytes, ctx);
  let request: unknown;
  try {
    request = JSON.parse(text.decode(bytes));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ValidationError(`Cannot ingest OTLP metrics: the JSON body does not parse (${why})`);
  }
  return decodeOtlp(request, ctx);
}

export function otlpReply(result: OtlpResult, encoding: OtlpEncoding): Response {
  const rejected = result.rejectedDataPoints;
  const partial = rejected === 0 ? undefined : {
    rejectedDataPoints: rejected,
    errorMessage: result.rejectedSeries.slice(0, 10).map((r) =>
      `point ${r.index}${r.metric ? ` (${r.metric})` : ""}: ${r.reason}`
    ).join("; "),
  };
  if (encoding === "protobuf") {
    return new Response(encodeOtlpResponse(partial) as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { "content-type": "application/x-protobuf" },
    });
  }
  const body = partial === undefined ? {} : {
    partialSuccess: {
      rejectedDataPoints: String(partial.rejectedDataPoints),
      errorMessage: partial.errorMessage,
    },
  };
  return Response.json(body, { status: 200 });
}
