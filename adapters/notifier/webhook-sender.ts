/**
 * Sends one notification over HTTP with the Standard Webhooks headers: `webhook-id`
 * (stable per transition and channel, so a receiver drops a resend), `webhook-timestamp`
 * (seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over
 * `id.timestamp.body` with the channel's secret; a `whsec_` secret is base64 after the
 * prefix, as the spec's libraries expect). The connection's DNS lookup goes through the
 * address guard, literal addresses are checked before connecting, and redirects are
 * not followed (node:http never follows them; a 3xx is a failed attempt).
 *
 * @example
 * const outcome = await sender.send(channel, { id, body, timestamp });
 */
import { createHmac } from "node:crypto";
import http from "node:http";
import https from "node:https";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import type { ChannelType } from "../../domain/alerting/notification.ts";
import type { AddressGuard } from "./address-guard.ts";

export interface Outgoing {
  readonly id: string;
  readonly body: unknown;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}

export type Outcome =
  | { readonly kind: "delivered"; readonly status: number }
  | { readonly kind: "retry" | "dead"; readonly status?: number; readonly error: string };

export interface WebhookSenderOptions {
  readonly guard: AddressGuard;
  readonly timeoutMs?: number;
}

export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = secret.startsWith("whsec_")
    ? Buffer.from(secret.slice(6), "base64")
    : Buffer.from(secret, "utf8");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** Where a channel's notifications are posted: Alertmanager takes pushes at /api/v2/alerts. */
export function targetUrl(type: ChannelType, url: string): URL {
  const target = new URL(url);
  if (type === "alertmanager" && !target.pathname.endsWith("/api/v2/alerts")) {
    target.pathname = `${target.pathname.replace(/\/$/, "")}/api/v2/alerts`;
  }
  return target;
}

export class WebhookSender {
  constructor(private readonly options: WebhookSenderOptions) {}

  /** The connection's own DNS lookup, refusing guarded addresses before any connect. */
  readonly #lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 4);
      const refusal = addresses.map((a) => this.options.guard.refusal(a.address)).find((r) => r);
      if (refusal) {
        return callback(Object.assign(new Error(`refused: ${refusal}`), { code: "EREFUSEDADDRESS" }), "", 4);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };

  send(channel: { type: ChannelType; url: string; secret: string }, out: Outgoing): Promise<Outcome> {
    const target = targetUrl(channel.type, channel.url);
    const host = target.hostname.replace(/^\[|\]$/g, "");
    const refused = isIP(host) ? this.options.guard.refusal(host) : undefined;
    if (refused) return Promise.resolve({ kind: "dead", error: `refused: ${refused}` });
    const body = JSON.stringify(out.body);
    const headers = {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "user-agent": "lookout",
      "webhook-id": out.id,
      "webhook-timestamp": String(out.timestamp),
      ...(channel.secret
        ? { "webhook-signature": signature(channel.secret, out.id, out.timestamp, body) }
        : {}),
    };
    const client = target.protocol === "https:" ? https : http;
    return new Promise((resolve) => {
      const request = client.request(target, {
        method: "POST",
        headers,
        timeout: this.options.timeoutMs ?? 10_000,
        lookup: this.#lookup,
      }, (response) => {
        response.resume();
        response.on("end", () => resolve(outcomeOf(response.statusCode ?? 0)));
      });
      request.on(
        "timeout",
        () => request.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 10_000} ms`)),
      );
      request.on(
        "error",
        (error: Error & { code?: string }) =>
          resolve({ kind: error.code === "EREFUSEDADDRESS" ? "dead" : "retry", error: error.message }),
      );
      request.end(body);
    });
  }
}

/** 2xx delivered; 410 Gone and other 4xx (but 408 and 429) will not change on retry; the rest is retried. */
function outcomeOf(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return { kind: permanent ? "dead" : "retry", status, error: `answered ${status}` };
}
