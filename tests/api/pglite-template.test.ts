import { strict as assert } from "node:assert";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { openPglite } from "../../adapters/postgres/sql-client.ts";
import { installedPgliteVersion, seedPgliteDataDir } from "../../adapters/postgres/pglite-template.ts";

const version = await installedPgliteVersion();

Deno.test("the installed PGlite version is found beside its entry point", () => {
  assert.match(version ?? "", /^\d+\.\d+\.\d+/);
});

Deno.test("new databases start from one template, are independent, and an existing one is kept", async () => {
  const root = await Deno.makeTempDir({ prefix: "lookout-pglite-template-" });
  try {
    const template = { cacheDir: join(root, "cache"), version: version ?? "unknown" };
    // Two databases seeded at once while the template does not exist yet: one of them builds it.
    const [a, b] = await Promise.all(
      ["a", "b"].map((name) => openPglite({ dataDir: join(root, name, "pglite"), template })),
    );
    await a.exec("create table t (x int); insert into t values (1), (2)");
    await b.exec("create table t (x int); insert into t values (10)");
    assert.deepEqual(await a.query("select sum(x)::int as s from t"), [{ s: 3 }]);
    assert.deepEqual(await b.query("select sum(x)::int as s from t"), [{ s: 10 }]);
    await a.close();
    await b.close();
    assert.deepEqual(
      await readdir(template.cacheDir),
      [`pglite-${template.version}`],
      "one template, and no half-built one left behind",
    );
    assert.ok((await Deno.stat(join(template.cacheDir, `pglite-${template.version}`, "PG_VERSION"))).isFile);

    // Seeding a folder that already holds a database leaves it alone.
    await seedPgliteDataDir(join(root, "a", "pglite"), template);
    const reopened = await openPglite({ dataDir: join(root, "a", "pglite"), template });
    assert.deepEqual(await reopened.query("select sum(x)::int as s from t"), [{ s: 3 }]);
    await reopened.close();

    // The template itself was never opened as a database: it has no user table.
    const copy = await openPglite({ dataDir: join(root, "c", "pglite"), template });
    assert.deepEqual(await copy.query("select to_regclass('public.t') as t"), [{ t: null }]);
    await copy.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
