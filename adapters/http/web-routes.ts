/**
 * The dashboard page: `/` serves `web/index.html`, `/web/<file>` the page's own
 * scripts and styles, and `/web/vendor/<file>` the charting library (uPlot) from its
 * npm package. Only plain file names are served, so no path can leave those folders.
 * The page itself calls the authenticated Prometheus API with the key the user types.
 */
import { Hono } from "hono";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export interface WebOptions {
  /** Folder of index.html, app.js and style.css. */
  readonly webDir: string;
  /** Folder of uPlot's `dist` files. */
  readonly vendorDir: string;
}

const FILE = /^[A-Za-z0-9_.-]+\.(html|js|css)$/;
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export function webRoutes(options: WebOptions): Hono {
  const app = new Hono();
  const serve = async (dir: string, name: string) => {
    const match = FILE.exec(name);
    if (!match || name.startsWith(".")) return undefined;
    const body = await readFile(join(dir, name)).catch(() => undefined);
    return body === undefined ? undefined : new Response(body, {
      headers: { "content-type": TYPES[match[1]], "cache-control": "no-cache" },
    });
  };
  app.get("/", async (c) => (await serve(options.webDir, "index.html")) ?? c.notFound());
  app.get(
    "/web/vendor/:name",
    async (c) => (await serve(options.vendorDir, c.req.param("name"))) ?? c.notFound(),
  );
  app.get("/web/:name", async (c) => (await serve(options.webDir, c.req.param("name"))) ?? c.notFound());
  return app;
}
