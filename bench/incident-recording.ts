/**
 * What recording an evaluation round's incidents costs on the embedded event store
 * (PGlite in a Worker, as the program runs it): the same `FireIncident` commands one
 * at a time (`execute`: a read and an append each) and as one round (`executeMany`:
 * one read of all streams and one `appendMany`), in the same process, in turn.
 *
 *   deno run -A bench/incident-recording.ts [--incidents 1000] [--rounds 2]
 */
import { parseArgs } from "node:util";
import { type IdentifiedCommand, IncidentCommands } from "../commands/incidents/incident-commands.ts";
import { openPostgresEventStore } from "../adapters/postgres/postgres-event-store.ts";
import { openPglite } from "../adapters/postgres/sql-client.ts";
import { cpuSeconds } from "./proc.ts";
import { fireIncident } from "../tests/support/rule-spec.ts";

const { values } = parseArgs({
  options: { incidents: { type: "string", default: "1000" }, rounds: { type: "string", default: "2" } },
});
const count = Number(values.incidents);
const sql = await openPglite({ worker: true });
const incidents = new IncidentCommands({ store: await openPostgresEventStore(sql) });

function round(): IdentifiedCommand[] {
  const at = Date.now();
  return Array.from({ length: count }, () => ({
    command: fireIncident(crypto.randomUUID(), "critical", at),
    commandId: crypto.randomUUID(),
  }));
}

async function measure(label: string, record: (commands: IdentifiedCommand[]) => Promise<unknown>) {
  const commands = round();
  const cpu0 = cpuSeconds("self");
  const t0 = performance.now();
  await record(commands);
  const wallMs = performance.now() - t0;
  const cpu = cpuSeconds("self") - cpu0;
  console.log(
    `${label.padEnd(24)} ${count} incidents: ${(wallMs / count).toFixed(2)} ms each, ` +
      `${Math.round(count / cpu)} incidents per CPU-second (${cpu.toFixed(2)} CPU-s, ${
        (wallMs / 1000).toFixed(2)
      } s)`,
  );
}

for (let r = 0; r < Number(values.rounds); r++) {
  await measure("execute, one at a time", async (commands) => {
    for (const { command, commandId } of commands) await incidents.execute(command, commandId);
  });
  await measure("executeMany, one round", (commands) => incidents.executeMany(commands));
}
await sql.close();
