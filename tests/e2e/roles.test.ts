/**
 * Roles in separate processes on a real Kafka broker: two ingest-only nodes (stateless:
 * no ClickHouse and no SQL database under their data directories) take samples from
 * their own senders, and one node with the raw, rollup and query roles (the one owner of
 * the ClickHouse engine) projects them; every acknowledged sample is then in raw and both
 * rollup tiers exactly once (lost = 0, dup = 0). Each node answers only its roles' routes.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { kafkaAvailable } from "../support/kafka-broker.ts";
import { KafkaProcess } from "../support/kafka-process.ts";
import {
  assertExact,
  figures,
  KEY,
  MAX_REQUESTS,
  MINUTE,
  report,
  REQUEST_SPACING_MS,
  SenderPool,
  TENANTS,
} from "../support/probe-load.ts";
import { Program } from "../support/program.ts";
import { SampleLedger } from "../support/sample-ledger.ts";
import { waitFor } from "../support/wait-for.ts";

Deno.test({
  name: "two ingest nodes and a projector/query node on Kafka: every acknowledged sample stored once",
  ignore: !kafkaAvailable,
  async fn() {
    const span = MAX_REQUESTS * REQUEST_SPACING_MS;
    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    // The two ingest nodes' senders use disjoint times, so their samples never coincide.
    const bases = [base, base + span + MINUTE];
    const range = { from: base - MINUTE, to: bases[1] + span + MINUTE };
    const broker = await KafkaProcess.start();
    const nodes: Program[] = [];
    try {
      const env = (roles: string) => ({
        LOOKOUT_KAFKA_BROKERS: broker.brokers,
        LOOKOUT_ROLES: roles,
        LOOKOUT_QUERY_MAX_POINTS: "1000000",
      });
      const store = await Program.start({ tenants: TENANTS, env: env("raw,rollup,query") });
      nodes.push(store);
      for (let i = 0; i < 2; i++) nodes.push(await Program.start({ tenants: TENANTS, env: env("ingest") }));
      const ingest = nodes.slice(1);

      for (const node of ingest) {
        assert.equal(
          existsSync(join(node.dataDir, "clickhouse")),
          false,
          "an ingest node opens no ClickHouse",
        );
        assert.equal(existsSync(join(node.dataDir, "pglite")), false, "an ingest node opens no database");
        assert.equal((await node.get("/v1/series", KEY)).status, 404, "an ingest node serves no queries");
      }
      assert.equal(
        (await store.post("/v1/samples", [], { key: KEY })).status,
        404,
        "the query node takes no samples",
      );

      const ledger = new SampleLedger();
      const pools = ingest.map((node, i) =>
        new SenderPool(node, ledger, `roles-${i}-${Date.now()}`, bases[i])
      );
      await waitFor(() => pools.every((p) => p.acked() >= 100), 60_000, {
        what: "100 acknowledged requests per node",
      });
      await Promise.all(pools.map((p) => p.finish()));
      await store.waitForProjected(75_000);
      const result = await figures(store, ledger, range);
      report("roles", result);
      assertExact(result);
      assert.ok(pools.every((p) => p.acked() > 0));
    } catch (error) {
      for (const node of nodes) node.printOutput("roles test failed");
      throw error;
    } finally {
      for (const node of nodes) await node.dispose();
      await broker.dispose();
    }
  },
});
