/**
 * Tests that need a component the machine may not have (a Postgres server,
 * EventStoreDB). In CI (`CI=true`) a missing component fails the run with a test that
 * says what is missing; elsewhere its tests are skipped and one line says how to enable
 * them. A component CI cannot start (EventStoreDB runs only under docker compose) is
 * marked `requiredInCi: false` and is skipped there too.
 *
 * @example
 * const postgres = component("Postgres", Deno.env.get("LOOKOUT_TEST_POSTGRES_URL"), "set LOOKOUT_TEST_POSTGRES_URL (.ci/run starts one)");
 * if (postgres.url !== undefined) suite(postgres.url);
 */
export interface Component {
  /** The address to reach it at, when it is available. */
  readonly url: string | undefined;
}

export function component(
  name: string,
  url: string | undefined,
  howToEnable: string,
  options: { requiredInCi?: boolean } = {},
): Component {
  if (url !== undefined && url.length > 0) return { url };
  if (Deno.env.get("CI") === "true" && options.requiredInCi !== false) {
    Deno.test(`${name} is required in CI`, () => {
      throw new Error(`${name} is missing: ${howToEnable}`);
    });
  } else {
    Deno.test({ name: `${name} tests skipped: ${howToEnable}`, ignore: true, fn() {} });
  }
  return { url: undefined };
}
