/**
 * A fresh PGlite database starts from a copy of a template data directory instead of
 * running initdb. Postgres' initdb compiled to WASM takes 15–20 s on a loaded 2-core
 * machine; copying its result and opening it takes about 1.5 s
 * (`bench/pglite-open.ts`). The template is built once per
 * PGlite version in the cache directory the caller names and is never opened itself,
 * so it stays a clean, shut-down cluster that Postgres allows to be copied.
 *
 * Both the template and the new data directory appear by rename, so a crash while
 * building or copying leaves a stray `*.partial-*` folder, never a half-made database.
 *
 * @example
 * await seedPgliteDataDir("./data/pglite", { cacheDir: "~/.cache/lookout", version: "0.5.17" });
 */
import { cp, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

export interface PgliteTemplate {
  /** Folder holding the templates, one per PGlite version. */
  readonly cacheDir: string;
  /** The PGlite package version the template was made by. */
  readonly version: string;
}

/** `$XDG_CACHE_HOME/lookout`, else `~/.cache/lookout`; empty (no cache) without a home. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CACHE_HOME;
  const home = env.HOME;
  return xdg ? join(xdg, "lookout") : home ? join(home, ".cache", "lookout") : "";
}

/** Fills `dataDir` from the template when `dataDir` does not hold a database yet. */
export async function seedPgliteDataDir(dataDir: string, template: PgliteTemplate): Promise<void> {
  if (await holdsCluster(dataDir)) return;
  if ((await readdir(dataDir).catch(() => [])).length > 0) return; // someone else's files: let PGlite decide
  const source = await ensureTemplate(template);
  await mkdir(dirname(dataDir), { recursive: true });
  const partial = `${dataDir}.partial-${crypto.randomUUID()}`;
  await cp(source, partial, { recursive: true });
  await rm(dataDir, { recursive: true, force: true });
  await rename(partial, dataDir);
}

async function ensureTemplate(template: PgliteTemplate): Promise<string> {
  const dir = join(template.cacheDir, `pglite-${template.version}`);
  if (await holdsCluster(dir)) return dir;
  await mkdir(template.cacheDir, { recursive: true });
  const partial = `${dir}.partial-${crypto.randomUUID()}`;
  const db = await PGlite.create(partial);
  await db.close();
  try {
    await rename(partial, dir);
  } catch (error) {
    // Another process built the same template first; theirs is as good as ours.
    await rm(partial, { recursive: true, force: true });
    if (!await holdsCluster(dir)) throw error;
  }
  return dir;
}

/** A Postgres data directory always has `PG_VERSION` and `global/pg_control`. */
async function holdsCluster(dir: string): Promise<boolean> {
  const present = (path: string) => stat(path).then(() => true, () => false);
  return await present(join(dir, "PG_VERSION")) && await present(join(dir, "global", "pg_control"));
}

/** The installed PGlite's version, read beside its entry point; undefined when unknown. */
export async function installedPgliteVersion(): Promise<string | undefined> {
  try {
    const entry = new URL(import.meta.resolve("@electric-sql/pglite"));
    for (let dir = new URL(".", entry); dir.pathname !== "/"; dir = new URL("..", dir)) {
      const manifest = await Deno.readTextFile(new URL("package.json", dir)).catch(() => undefined);
      if (manifest === undefined) continue;
      const parsed = JSON.parse(manifest) as { name?: string; version?: string };
      if (parsed.name === "@electric-sql/pglite") return parsed.version;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
