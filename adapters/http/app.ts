/**
 * The HTTP application: ingest, query, self-monitoring. Every `/v1/*`, `/api/*` and
 * `/otlp/*` route and the Influx 1.x `/write` is authenticated to one tenant by its API key; `/metrics`, `/healthz` and
 * `/readyz` are open, as scrapers and orchestrators expect.
 *
 * @example
 * const app = createApp({ tenants, ingest, query, telemetry, ready: () => true });
 * Deno.serve({ port: 8080 }, app.fetch);
 */
import { Hono, type MiddlewareHandler } from "hono";
import { errorResponse, problem } from "./problem.ts";
import type { TenantDirectory } from "./tenants.ts";
import { type IngestOptions, ingestRoutes } from "./ingest-routes.ts";
import { type QueryOptions, queryRoutes } from "./query-routes.ts";
import { type RuleOptions, ruleRoutes } from "./rule-routes.ts";
import { type PrometheusOptions, prometheusRoutes } from "./prometheus-routes.ts";
import { type IncidentOptions, incidentRoutes } from "./incident-routes.ts";
import { type ChannelOptions, channelRoutes } from "./channel-routes.ts";
import { type SilenceOptions, silenceRoutes } from "./silence-routes.ts";
import { alertIntakeRoutes } from "./alert-intake-routes.ts";
import { cardinalityRoutes } from "./cardinality-route.ts";
import { type WebOptions, webRoutes } from "./web-routes.ts";
import { type AdminOptions, adminRoutes } from "./admin-routes.ts";
import type { Telemetry } from "../telemetry.ts";

export type TenantEnv = { Variables: { tenant: string } };

export interface AppOptions {
  readonly tenants: TenantDirectory;
  readonly telemetry: Telemetry;
  readonly ingest?: IngestOptions;
  readonly query?: QueryOptions;
  readonly rules?: RuleOptions;
  readonly prometheus?: PrometheusOptions;
  readonly incidents?: IncidentOptions;
  readonly channels?: ChannelOptions;
  readonly silences?: SilenceOptions;
  readonly web?: WebOptions;
  readonly admin?: AdminOptions;
  readonly ready: () => boolean | Promise<boolean>;
  readonly logError?: (error: unknown) => void;
}

export function createApp(options: AppOptions): Hono<TenantEnv> {
  const app = new Hono<TenantEnv>();
  const logError = options.logError ?? ((error) => console.error(error));

  app.onError((error, c) => errorResponse(error, c, logError));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get(
    "/readyz",
    async (c) => (await options.ready()) ? c.json({ status: "ready" }) : c.json({ status: "starting" }, 503),
  );
  app.get(
    "/metrics",
    async (c) =>
      c.body(await options.telemetry.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  // Admin routes answer to the admin token, not to a tenant's key.
  if (options.admin) app.route("/", adminRoutes(options.admin));

  const authenticate: MiddlewareHandler<TenantEnv> = async (c, next) => {
    if (c.req.path.startsWith("/v1/admin/")) return await next();
    const query = c.req.path === "/write" ? new URL(c.req.url).searchParams : undefined;
    const tenant = options.tenants.resolve(c.req.raw.headers, query);
    if (tenant === undefined) {
      return problem(
        c,
        401,
        "unauthorized",
        "A valid API key is required (DD-API-KEY or Authorization: Bearer)",
      );
    }
    c.set("tenant", tenant);
    await next();
    return undefined;
  };
  app.use("/v1/*", authenticate);
  app.use("/api/*", authenticate);
  app.use("/otlp/*", authenticate);
  app.use("/write", authenticate);

  // Before ingest: POST /api/v1/series is a Prometheus lookup with a form body and
  // Datadog's v1 intake otherwise; the Prometheus handler passes the latter on.
  if (options.prometheus) app.route("/", prometheusRoutes(options.prometheus));
  if (options.ingest) app.route("/", ingestRoutes(options.ingest));
  if (options.ingest?.limits) {
    const { limits, now } = options.ingest;
    app.route("/", cardinalityRoutes({ limits, store: options.query?.store, now }));
  }
  if (options.query) app.route("/", queryRoutes(options.query));
  if (options.rules) app.route("/", ruleRoutes(options.rules));
  if (options.prometheus) app.route("/", prometheusRoutes(options.prometheus));
  if (options.incidents) app.route("/", incidentRoutes(options.incidents));
  if (options.incidents) app.route("/", alertIntakeRoutes(options.incidents));
  if (options.channels) app.route("/", channelRoutes(options.channels));
  if (options.silences) app.route("/", silenceRoutes(options.silences));
  if (options.web) app.route("/", webRoutes(options.web));

  app.notFound((c) =>
    problem(c, 404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`)
  );
  return app;
}
