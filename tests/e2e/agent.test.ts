/**
 * The agent and Lookout as real processes. A probe endpoint that the agent scrapes
 * serves a counter with its own timestamp, 10 s of event time apart per scrape, so
 * the test knows every sample the agent collected and can read back how often each
 * one was stored: lost = served − stored distinct, dup = stored − distinct (the control
 * counts its re-sent copies in the 1m rollups: raw keeps a series and timestamp once).
 *
 * 1. Host metrics and a StatsD counter are queryable.
 * 2. Lookout stops for 30 s while the agent keeps collecting, then comes back.
 * 3. With Lookout down again, the agent is killed with `kill -9` while its queue holds
 *    batches, then Lookout and the agent restart: the queue still arrives.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { gunzipSync } from "node:zlib";
import { AgentProcess } from "../support/agent-process.ts";
import { freePort, Program } from "../support/program.ts";
import { waitFor } from "../support/wait-for.ts";

const STEP_MS = 10_000;
const PROBE = "agent_probe_scrapes_total";

/** Serves `agent_probe_scrapes_total k` at event time base + k·10 s; pausable. */
class Probe {
  served = 0;
  paused = false;
  readonly base = Math.floor((Date.now() - 3_600_000) / STEP_MS) * STEP_MS;
  readonly server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    if (this.paused) return new Response("paused", { status: 503 });
    const k = ++this.served;
    return new Response(`# TYPE ${PROBE} counter\n${PROBE} ${k} ${this.base + k * STEP_MS}\n`);
  });
  get url(): string {
    return `http://127.0.0.1:${this.server.addr.port}/metrics`;
  }
}

/** The probe's sample counts per `step` over every scrape served, from `resolution`. */
async function probeCounts(
  program: Program,
  key: string,
  probe: Probe,
  step: number,
  resolution: "raw" | "1m",
): Promise<[number, number][]> {
  const reply = await program.query(key, {
    metric: PROBE,
    agg: "count",
    by: [],
    from: probe.base,
    to: probe.base + (probe.served + 1) * STEP_MS,
    step,
    resolution,
  });
  return (reply.series[0]?.points ?? []).map(([ts, count]) => [ts, Number(count)]);
}

/** How many times each scrape number is stored in Lookout, read from raw counts per 10 s. */
async function storedCopies(program: Program, key: string, probe: Probe): Promise<Map<number, number>> {
  const copies = new Map<number, number>();
  for (const [ts, count] of await probeCounts(program, key, probe, STEP_MS, "raw")) {
    copies.set((ts - probe.base) / STEP_MS, count);
  }
  return copies;
}

/**
 * Samples of the probe the 1m rollups count. Raw keeps one row per series and timestamp
 * (the sample policy), so a copy sent in a later request shows only here.
 */
async function rolledUp(program: Program, key: string, probe: Probe): Promise<number> {
  return (await probeCounts(program, key, probe, 3_600_000, "1m")).reduce((n, [, count]) => n + count, 0);
}

/** The probe's samples per minute, raw and from the 1m rollups, where they differ. */
async function perMinute(program: Program, key: string, probe: Probe): Promise<[number, number, number][]> {
  const raw = new Map(await probeCounts(program, key, probe, 60_000, "raw"));
  const rolled = new Map(await probeCounts(program, key, probe, 60_000, "1m"));
  return [...new Set([...raw.keys(), ...rolled.keys()])].sort((a, b) => a - b)
    .map((t): [number, number, number] => [t, raw.get(t) ?? 0, rolled.get(t) ?? 0])
    .filter(([, r, m]) => r !== m);
}

function lostAndDup(copies: Map<number, number>, expected: Iterable<number>): { lost: number; dup: number } {
  let lost = 0;
  let dup = 0;
  for (const k of expected) {
    const n = copies.get(k) ?? 0;
    if (n === 0) lost++;
    else dup += n - 1;
  }
  return { lost, dup };
}

/** The probe's scrape numbers inside the agent's queued batches. */
async function queuedScrapes(dataDir: string): Promise<number[]> {
  const out: number[] = [];
  for await (const entry of Deno.readDir(`${dataDir}/queue`)) {
    if (!entry.name.endsWith(".batch")) continue;
    const text = new TextDecoder().decode(gunzipSync(await Deno.readFile(`${dataDir}/queue/${entry.name}`)));
    for (const line of text.split("\n").filter((l) => l.includes(PROBE))) {
      out.push(...JSON.parse(line).values);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * Lookout, the probe and an agent scraping it, torn down together. The probe stamps its
 * samples an hour back while the agent's own series carry the wall clock, so a batch of
 * those would make the probe's later samples late for the rollups (kept out of them);
 * two hours of allowed lateness keep every probe sample in the 1m rollup the control
 * counts copies in.
 */
async function setup(prefix: string, flags: string[]) {
  const program = await Program.start({ env: { LOOKOUT_ALLOWED_LATENESS_SECONDS: "7200" } });
  const key = program.tenants.acme;
  const probe = new Probe();
  const dataDir = await Deno.makeTempDir({ prefix });
  const agent = await AgentProcess.start([
    ...["--url", program.url, "--api-key", key, "--interval", "1s", "--data-dir", dataDir],
    ...["--scrape", probe.url, ...flags],
  ]);
  const dispose = async () => {
    await agent.stop();
    await program.dispose();
    await probe.server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  };
  return { program, key, probe, dataDir, agent, dispose };
}

Deno.test({
  name: "agent e2e: host metrics and StatsD arrive; Lookout away 30 s and the agent killed: lost 0, dup 0",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const statsdPort = freePort();
    const { program, key, probe, dataDir, agent, dispose } = await setup("lookout-agent-e2e-", [
      ...["--instance", "e2e-host", "--statsd", `127.0.0.1:${statsdPort}`],
    ]);
    try {
      // 1. Host metrics and StatsD.
      const udp = createSocket("udp4");
      await new Promise<void>((resolve, reject) =>
        udp.send("e2e.jobs:5|c|#queue:mail", statsdPort, "127.0.0.1", (e) => e ? reject(e) : resolve())
      );
      udp.close();
      const now = Date.now();
      const window = { from: now - 120_000, to: now + 120_000, step: 60_000, resolution: "raw" };
      await waitFor(
        async () => {
          const load = await program.query(key, {
            metric: "node_load1",
            agg: "count",
            by: ["instance", "job"],
            ...window,
          });
          const cpu = await program.query(key, {
            metric: "node_cpu_seconds_total",
            agg: "count",
            by: ["mode"],
            ...window,
          });
          const jobs = await program.query(key, { metric: "e2e_jobs", agg: "sum", by: ["queue"], ...window });
          return load.series.some((s) => s.labels.instance === "e2e-host" && s.labels.job === "node") &&
            cpu.series.some((s) => s.labels.mode === "idle") &&
            jobs.series.some((s) => s.labels.queue === "mail" && s.points.some(([, v]) => Number(v) === 5));
        },
        30_000,
        { what: "host metrics and the StatsD counter in Lookout" },
      );

      // 2. Lookout away for 30 s.
      await program.stop();
      const awayFrom = probe.served + 1;
      await new Promise((resolve) => setTimeout(resolve, 30_000));
      const awayTo = probe.served;
      assert.ok(
        awayTo - awayFrom >= 20,
        `the agent kept scraping while Lookout was away (${awayFrom}..${awayTo})`,
      );
      assert.ok(
        await agent.value("lookout_agent_queue_batches") > 0,
        "the queue held what could not be sent",
      );
      await program.restart();
      await waitFor(async () => (await agent.value("lookout_agent_queue_batches")) === 0, 60_000, {
        what: "the agent's queue to drain",
      });

      // 3. Lookout down, the agent killed while holding a queue.
      await program.stop();
      await waitFor(async () => (await agent.value("lookout_agent_queue_batches")) >= 3, 20_000, {
        what: "batches to queue up",
      });
      probe.paused = true; // nothing new is collected from here on, so the queue is the whole story
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const held = await queuedScrapes(dataDir);
      assert.ok(held.length >= 3, `the queue held scrapes when the agent was killed: ${held}`);
      await agent.kill9();
      await program.restart();
      probe.paused = false;
      await agent.restart();
      await waitFor(async () => (await agent.value("lookout_agent_queue_batches")) === 0, 60_000, {
        what: "the restarted agent to send what the killed one had queued",
      });
      // Stop collecting before stopping the agent, so no scrape is served and not queued.
      probe.paused = true;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await waitFor(async () => (await agent.value("lookout_agent_queue_batches")) === 0, 30_000, {
        what: "the last batches to be sent",
      });
      await agent.stop();
      await program.waitForProjected();

      const copies = await storedCopies(program, key, probe);
      const all = Array.from({ length: probe.served }, (_, i) => i + 1);
      const away = all.filter((k) => k >= awayFrom && k <= awayTo);
      const total = lostAndDup(copies, all);
      console.log(
        `agent e2e: ${probe.served} scrapes; while Lookout was away ${away.length}: ` +
          `${JSON.stringify(lostAndDup(copies, away))}; queue at kill -9 ${held.length}: ` +
          `${JSON.stringify(lostAndDup(copies, held))}; all: ${JSON.stringify(total)}`,
      );
      assert.deepEqual(lostAndDup(copies, away), { lost: 0, dup: 0 });
      assert.deepEqual(lostAndDup(copies, held), { lost: 0, dup: 0 });
      assert.deepEqual(total, { lost: 0, dup: 0 });
      assert.equal([...copies.keys()].filter((k) => k < 1 || k > probe.served).length, 0, "nothing invented");
    } catch (error) {
      console.error(`---- agent output ----\n${agent.output()}\n----`);
      program.printOutput("agent e2e failed");
      throw error;
    } finally {
      await dispose();
    }
  },
});

Deno.test({
  name: "agent e2e control: a queue entry deleted or a batch re-sent without its key shows as lost and dup",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { program, key, probe, dataDir, agent, dispose } = await setup("lookout-agent-control-", [
      "--no-host",
    ]);
    try {
      await program.stop();
      await waitFor(async () => (await agent.value("lookout_agent_queue_batches")) >= 4, 20_000, {
        what: "batches to queue up",
      });
      probe.paused = true;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await agent.kill9();
      const files = [...Deno.readDirSync(`${dataDir}/queue`)].map((e) => e.name).filter((n) =>
        n.endsWith(".batch")
      )
        .sort();
      const before = await queuedScrapes(dataDir);
      // Loss: a queue that forgot a batch. Duplicate: the same batch sent again under another key.
      await Deno.remove(`${dataDir}/queue/${files[0]}`);
      const resent = await Deno.readFile(`${dataDir}/queue/${files[1]}`);
      const remaining = await queuedScrapes(dataDir);
      const forgotten = before.filter((k) => !remaining.includes(k));
      await program.restart();
      const again = await fetch(`${program.url}/v1/samples`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-encoding": "gzip",
          "idempotency-key": "another-key",
        },
        body: resent,
      });
      assert.equal(again.status, 202);
      await again.body?.cancel();
      // Projected before the agent sends the original: in one batch the rollups too would
      // keep one copy.
      await program.waitForProjected();
      await agent.restart();
      await waitFor(async () => (await agent.value("lookout_agent_queue_batches")) === 0, 60_000, {
        what: "the queue to drain",
      });
      await agent.stop();
      await program.waitForProjected();
      const resentScrapes = new TextDecoder().decode(gunzipSync(resent)).split("\n")
        .filter((l) => l.includes(PROBE)).flatMap((l) => JSON.parse(l).values as number[]);
      const copies = await storedCopies(program, key, probe);
      const { lost } = lostAndDup(copies, before);
      const distinct = [...copies.values()].filter((n) => n > 0).length;
      const result = { lost, dup: (await rolledUp(program, key, probe)) - distinct };
      console.log(
        `agent e2e control: forgot ${forgotten.length}, re-sent ${resentScrapes.length}: ${
          JSON.stringify(result)
        }`,
      );
      assert.ok(forgotten.length > 0 && resentScrapes.length > 0);
      if (result.dup !== resentScrapes.length) {
        console.error(`per minute, raw vs 1m: ${JSON.stringify(await perMinute(program, key, probe))}`);
        console.error(
          `late samples: ${
            (await program.metrics()).filter((m) => m.name === "lookout_late_samples_total")
              .map((m) => m.value)
          }; re-sent scrapes ${resentScrapes}; forgotten ${forgotten}; served ${probe.served}`,
        );
      }
      assert.deepEqual(result, { lost: forgotten.length, dup: resentScrapes.length });
    } finally {
      await dispose();
    }
  },
});
