/**
 * How long a new embedded SQL database takes to become usable: PGlite running initdb
 * in a new folder, against a copy of a template folder opened in place.
 *
 *   deno run -A bench/pglite-open.ts [--rounds 3]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { seedPgliteDataDir } from "../adapters/postgres/pglite-template.ts";
import { cpuSeconds } from "./proc.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" } } });
const rounds = Number(values.rounds);
const root = await Deno.makeTempDir({ prefix: "lookout-bench-pglite-" });

async function measure(label: string, open: (dir: string) => Promise<PGlite>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const dir = join(root, `${label}-${round}`);
    const cpu0 = cpuSeconds("self");
    const t0 = performance.now();
    const db = await open(dir);
    await db.query("select 1");
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds("self") - cpu0;
    await db.close();
    console.log(`${label.padEnd(10)} round ${round + 1}: ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} CPU-s`);
  }
}

const template = { cacheDir: join(root, "cache"), version: "bench" };
await measure("initdb", (dir) => PGlite.create(dir));
await seedPgliteDataDir(join(root, "warm"), template); // builds the template outside the measurement
await measure("template", async (dir) => {
  await seedPgliteDataDir(dir, template);
  return PGlite.create(dir);
});
console.log(`load ${Deno.loadavg().map((n) => n.toFixed(2)).join(" ")}`);
await Deno.remove(root, { recursive: true });
