/**
 * The analytics-store contract against chDB (always) and against a ClickHouse server
 * when `LOOKOUT_TEST_CLICKHOUSE_URL` is set (`docker compose up clickhouse`): no server
 * can be installed on the machines CI runs on, so it is not required there.
 */
import { openClickHouseStore } from "../../adapters/clickhouse/clickhouse-store.ts";
import { sharedStore } from "../support/analytics.ts";
import { component } from "../support/component.ts";
import { analyticsStoreContract } from "./analytics-store.contract.ts";

analyticsStoreContract(
  "chDB",
  async () => ({ store: await sharedStore(), cleanup: () => Promise.resolve() }),
);

const server = component(
  "ClickHouse server",
  Deno.env.get("LOOKOUT_TEST_CLICKHOUSE_URL"),
  "set LOOKOUT_TEST_CLICKHOUSE_URL=http://user:pass@127.0.0.1:8123 (docker compose up clickhouse)",
  { requiredInCi: false },
);
if (server.url !== undefined) {
  const url = server.url;
  analyticsStoreContract("ClickHouse server", () => {
    const store = openClickHouseStore({ url });
    return Promise.resolve({ store, cleanup: () => store.close() });
  });
}
