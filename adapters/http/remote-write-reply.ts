/**
 * The HTTP side of Prometheus remote write (`POST /api/v1/write`): which version a
 * request speaks, reading its snappy body, and the reply.
 *
 * - Version: `Content-Type: application/x-protobuf` alone or with
 *   `proto=prometheus.WriteRequest` is 1.0; `proto=io.prometheus.write.v2.Request` is
 *   2.0; anything else gets `415`, as the 2.0 spec asks.
 * - Body: `Content-Encoding: snappy` (block format) is required; the compressed size
 *   is held to the body limit while reading and the declared length to the
 *   decompressed limit before inflating (`413`).
 * - Reply: `204` when every series was written. When some were not, `400` with one
 *   line per rejected series, while the valid ones are stored: a sender drops a
 *   batch on `4xx` and retries it on `5xx`, so a `5xx` here would only resend what
 *   cannot be stored. Both versions get the `X-Prometheus-Remote-Write-*-Written`
 *   headers; exemplars and native histograms are never written.
 *
 * @example
 * const version = remoteWriteVersion(c.req.header("content-type")); // 1 | 2, or throws
 */
import type { RemoteWriteResult } from "../../commands/ingest/remote-write-series.ts";
import { UnsupportedMediaType } from "../../domain/errors.ts";
import { type BodyLimits, readAtMost } from "./read-body.ts";
import type { SnappyBlock } from "./snappy-block.ts";

const V1_PROTO = "prometheus.WriteRequest";
const V2_PROTO = "io.prometheus.write.v2.Request";
const LISTED_REJECTIONS = 20;

export function remoteWriteVersion(contentType: string | undefined): 1 | 2 {
  const [mediaType, ...params] = (contentType ?? "").split(";").map((p) => p.trim());
  if (mediaType.toLowerCase() !== "application/x-protobuf") {
    throw new UnsupportedMediaType(
      `Cannot accept remote write: content type "${contentType ?? ""}" is not application/x-protobuf`,
    );
  }
  const proto = params.find((p) => p.toLowerCase().startsWith("proto="))?.slice(6).replace(/^"|"$/g, "");
  if (proto === undefined || proto === V1_PROTO) return 1;
  if (proto === V2_PROTO) return 2;
  throw new UnsupportedMediaType(
    `Cannot accept remote write: proto "${proto}" is not ${V1_PROTO} (1.0) or ${V2_PROTO} (2.0)`,
  );
}

export async function readRemoteWriteBody(
  req: Request,
  limits: BodyLimits,
  snappy: SnappyBlock,
): Promise<Uint8Array> {
  const encoding = req.headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding !== "snappy") {
    throw new UnsupportedMediaType(
      `Cannot accept remote write: content encoding "${encoding ?? ""}" is not snappy`,
    );
  }
  const block = await readAtMost(req.body, limits.maxCompressedBytes, "compressed body");
  return await snappy.decompress(block, limits.maxDecompressedBytes);
}

export function remoteWriteReply(result: RemoteWriteResult, version: 1 | 2): Response {
  const headers = new Headers({
    "x-prometheus-remote-write-samples-written": String(result.acceptedSamples),
    "x-prometheus-remote-write-histograms-written": "0",
    "x-prometheus-remote-write-exemplars-written": "0",
  });
  if (result.rejectedSeries.length === 0) return new Response(null, { status: 204, headers });
  const rejected = result.rejectedSeries;
  const lines = rejected.slice(0, LISTED_REJECTIONS).map((r) =>
    `series ${r.index}${r.metric ? ` (${r.metric})` : ""}: ${r.reason}`
  );
  if (rejected.length > LISTED_REJECTIONS) lines.push(`… and ${rejected.length - LISTED_REJECTIONS} more`);
  headers.set("content-type", "text/plain; charset=utf-8");
  const summary = `remote write ${version}.0: ${result.acceptedSamples} samples written, ` +
    `${rejected.length} series rejected`;
  return new Response(`${summary}\n${lines.join("\n")}\n`, { status: 400, headers });
}
