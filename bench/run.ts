/**
 * `deno task bench [--quick] [stage...]`: the performance budget of docs/DESIGN, per
 * core, with VictoriaMetrics run beside Lookout on the same samples.
 *
 * Stages (default: ingest raw rollup e2e), each in its own process because chDB
 * allows one data directory per process:
 * - `ingest`: decode + validate + split + encode + append to the embedded log, in-process;
 *   then per protocol (remote write, Influx, Datadog v1, OTLP) through the HTTP app,
 *   beside VictoriaMetrics on the same bodies (`stage-protocols.ts`);
 * - `raw`, `rollup`: the Projector over a pre-filled log into chDB;
 * - `e2e`: `main.ts` and VictoriaMetrics fed by `loadgen.ts` until a count query
 *   returns every sample;
 * - `decode`, `log-append`, `remote-write`: the micro benchmarks, only when named;
 * - `query`: dashboard query latency beside VictoriaMetrics (bench/stage-query.ts), only when named.
 * - `alerts`: streaming evaluation with 10,000 rules, in-process, then the latency from a
 *   breaching sample's 202 to a webhook receiver under background load, only when named.
 *
 * "Per core" is work per CPU second of the process doing it (user + system, every
 * thread). The summary goes to stdout and, as Markdown and JSON, to bench/.work/.
 * `--quick` runs smaller workloads (about 1.5 minutes instead of about 3);
 * `--points-per-line N` sends N points per series line in e2e (default 1: 10k lines).
 */
import { describeMachine, fmt, type Machine } from "./proc.ts";
import type { IngestCaseResult } from "./stage-ingest.ts";
import type { ProtocolResult } from "./stage-protocols.ts";
import type { E2eResult } from "./stage-e2e.ts";

const STAGES = ["ingest", "raw", "rollup", "e2e"] as const;
const MICRO = ["decode", "log-append", "remote-write", "query", "alerts"] as const;
const TARGETS = { ingest: 1_000_000, raw: 1_000_000, rollup: 2_000_000, e2eVsVm: 0.5 };

const args = Deno.args;
const quick = args.includes("--quick");
const named = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--points-per-line");
for (const stage of named) {
  if (![...STAGES, ...MICRO].includes(stage as never)) {
    console.error(`Unknown stage "${stage}"; stages: ${[...STAGES, ...MICRO].join(", ")}`);
    Deno.exit(2);
  }
}
const stages = named.length > 0 ? named : [...STAGES];
const ROOT = new URL("..", import.meta.url).pathname;
const WORK = `${ROOT}bench/.work`;

interface ProjectionResult {
  readonly samples: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  readonly rowsPerSecond: number;
  readonly rowsPerCpuSecond: number;
  readonly chdb: string;
  readonly breakdown: Record<string, { ms: number; calls: number }>;
}

interface Results {
  ingest?: { cases: IngestCaseResult[] };
  protocols?: { series: number; results: ProtocolResult[] };
  raw?: ProjectionResult;
  rollup?: ProjectionResult;
  e2e?: { victoriaMetrics?: string; pointsPerLine: number; concurrency: number; results: E2eResult[] };
}

async function runStage(script: string, stageArgs: string[]): Promise<unknown> {
  await Deno.mkdir(WORK, { recursive: true });
  const out = `${WORK}/stage-${Deno.pid}-${stageArgs[0] ?? script}.json`;
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `bench/${script}`, ...stageArgs, ...(quick ? ["--quick"] : []), "--out", out],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  const status = await command.output();
  if (!status.success) throw new Error(`bench/${script} ${stageArgs.join(" ")} failed (exit ${status.code})`);
  try {
    return JSON.parse(await Deno.readTextFile(out));
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

async function runMicro(script: string, extra: string[] = []): Promise<void> {
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `bench/${script}`, ...extra],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!status.success) throw new Error(`bench/${script} failed (exit ${status.code})`);
}

const started = performance.now();
const machineBefore = describeMachine();
console.log(
  `Lookout bench${quick ? " (--quick)" : ""}: ${machineBefore.cores} cores, ${machineBefore.cpuModel}, ` +
    `${machineBefore.memoryGiB} GiB, load ${machineBefore.loadAverage}, Deno ${machineBefore.deno}`,
);
const results: Results = {};
for (const stage of stages) {
  console.log(`\n== ${stage}`);
  switch (stage) {
    case "ingest":
      results.ingest = await runStage("stage-ingest.ts", []) as Results["ingest"];
      results.protocols = await runStage("stage-protocols.ts", []) as Results["protocols"];
      break;
    case "raw":
    case "rollup":
      results[stage] = await runStage("stage-projection.ts", [stage]) as ProjectionResult;
      break;
    case "e2e": {
      const shape = args.indexOf("--points-per-line");
      const e2eArgs = shape >= 0 ? ["--points-per-line", args[shape + 1]] : [];
      results.e2e = await runStage("stage-e2e.ts", e2eArgs) as Results["e2e"];
      break;
    }
    case "decode":
      await runMicro("decode.ts");
      break;
    case "log-append":
      await runMicro("log-append.ts");
      break;
    case "remote-write":
      await runMicro("remote-write.ts");
      break;
    case "query":
      await runMicro("stage-query.ts", quick ? ["--quick"] : []);
      break;
    case "alerts":
      await runMicro("stage-alerts.ts");
      await runMicro("stage-alert-latency.ts", quick ? ["--quick"] : []);
      break;
  }
}
const machineAfter = describeMachine();
const minutes = (performance.now() - started) / 60_000;

type Row = [string, string, string, string, string, string];

function ratio(a: number, b: number | undefined): string {
  return b === undefined || !Number.isFinite(b) ? "–" : `${(a / b).toFixed(2)}×`;
}

function summary(r: Results): Row[] {
  const rows: Row[] = [];
  const vm = r.e2e?.results.find((x) => x.target.includes("JSON lines"));
  const vmInflux = r.e2e?.results.find((x) => x.target.includes("Influx"));
  const vmPerCpu = vm?.steady.samplesPerCpuSecond;
  for (const c of r.ingest?.cases ?? []) {
    rows.push([
      `ingest ${c.case}, log sync=${c.sync}`,
      fmt.rate(c.samplesPerCpuSecond),
      fmt.rate(c.samplesPerSecond),
      `≥ ${fmt.rate(TARGETS.ingest)}`,
      ratio(c.samplesPerCpuSecond, TARGETS.ingest),
      ratio(c.samplesPerCpuSecond, vmPerCpu),
    ]);
  }
  for (const p of r.protocols?.results ?? []) {
    rows.push([
      `ingest ${p.protocol} 10k×1 via HTTP app, log sync=normal (VM: same bodies, same protocol)`,
      fmt.rate(p.lookoutPerCpuSecond),
      fmt.rate(p.lookoutPerSecond),
      `≥ 1.00× VM`,
      ratio(p.lookoutPerCpuSecond, TARGETS.ingest),
      p.peers.length === 0
        ? "no peer"
        : p.peers.map((f) => `${f.ratio.toFixed(2)}× (${f.name} ${fmt.rate(f.perCpuSecond)})`).join(", "),
    ]);
  }
  for (
    const [name, p, target] of [["raw", r.raw, TARGETS.raw], ["rollup", r.rollup, TARGETS.rollup]] as const
  ) {
    if (p === undefined) continue;
    rows.push([
      `${name} projection, ${fmt.rate(p.samples)} samples / 100k series`,
      fmt.rate(p.rowsPerCpuSecond),
      fmt.rate(p.rowsPerSecond),
      `≥ ${fmt.rate(target)}`,
      ratio(p.rowsPerCpuSecond, target),
      ratio(p.rowsPerCpuSecond, vmPerCpu),
    ]);
  }
  for (const e of r.e2e?.results ?? []) {
    const isVm = e.target.startsWith("Victoria");
    const peer = e.target.includes("Influx") ? vmInflux : vm;
    const versus = (mine: number, theirs: number | undefined, wallMine: number, wallTheirs?: number) =>
      isVm ? "1.00×" : `${ratio(mine, theirs)} per CPU-s, ${ratio(wallMine, wallTheirs)} wall`;
    const lines: [string, number, number, number | undefined, number | undefined, boolean][] = [
      [
        `steady (${fmt.rate(e.steady.samples)} samples), first POST → queryable`,
        e.steady.samplesPerCpuSecond,
        e.steady.samplesPerSecond,
        peer?.steady.samplesPerCpuSecond,
        peer?.steady.samplesPerSecond,
        true,
      ],
      [
        "steady, first POST → last ack",
        e.steady.acceptedPerCpuSecond,
        e.steady.acceptedPerSecond,
        peer?.steady.acceptedPerCpuSecond,
        peer?.steady.acceptedPerSecond,
        false,
      ],
      [
        `cold (${fmt.rate(e.cold.samples)} samples, all series new), first POST → queryable`,
        e.cold.samplesPerCpuSecond,
        e.cold.samplesPerSecond,
        peer?.cold.samplesPerCpuSecond,
        peer?.cold.samplesPerSecond,
        true,
      ],
    ];
    for (const [label, perCpu, wall, peerCpu, peerWall, targeted] of lines) {
      rows.push([
        `e2e ${e.target}, ${label}`,
        fmt.rate(perCpu),
        fmt.rate(wall),
        isVm || !targeted ? "" : `≥ ${TARGETS.e2eVsVm}× VM`,
        isVm || !targeted ? "" : ratio(perCpu / (peerCpu ?? NaN), TARGETS.e2eVsVm),
        versus(perCpu, peerCpu, wall, peerWall),
      ]);
    }
    if (!isVm && vmInflux !== undefined && peer !== vmInflux) {
      rows.push([
        `e2e ${e.target}, steady, vs VM Influx`,
        "",
        "",
        "",
        "",
        versus(
          e.steady.samplesPerCpuSecond,
          vmInflux.steady.samplesPerCpuSecond,
          e.steady.samplesPerSecond,
          vmInflux.steady.samplesPerSecond,
        ),
      ]);
    }
  }
  return rows;
}

function markdown(rows: Row[], machine: Machine, after: Machine): string {
  const header: Row = [
    "figure",
    "per CPU-second",
    "wall, per second",
    "target (per core)",
    "vs target",
    "vs VictoriaMetrics (e2e, same phase; stages vs VM steady per CPU-s)",
  ];
  const lines = [header, header.map(() => "---") as Row, ...rows].map((r) => `| ${r.join(" | ")} |`);
  return [
    `Machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, kernel ${machine.kernel}, ` +
    `Deno ${machine.deno}; load average ${machine.loadAverage} before, ${after.loadAverage} after; ` +
    `chDB ${results.raw?.chdb ?? results.rollup?.chdb ?? "?"}, VictoriaMetrics ${
      results.e2e?.victoriaMetrics ?? "?"
    }; ${minutes.toFixed(1)} min${quick ? " (--quick)" : ""}.`,
    "",
    ...lines,
    "",
  ].join("\n");
}

const rows = summary(results);
if (rows.length > 0) {
  const md = markdown(rows, machineBefore, machineAfter);
  console.log(`\n== summary\n\n${md}`);
  await Deno.mkdir(WORK, { recursive: true });
  await Deno.writeTextFile(`${WORK}/last-run.md`, md);
  await Deno.writeTextFile(
    `${WORK}/last-run.json`,
    JSON.stringify({ machine: machineBefore, after: machineAfter, quick, results }, null, 2),
  );
  console.log("(also in bench/.work/last-run.md and last-run.json)");
}
