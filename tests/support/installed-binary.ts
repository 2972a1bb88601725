/**
 * Tests that need a real component installed from a package (Prometheus, an Influx
 * client): in CI (`CI=true`) a missing component fails the test, elsewhere the test is
 * skipped with a message that says how to install it.
 *
 * @example
 * const prometheus = findBinary("prometheus", "apt-get install -y prometheus");
 * Deno.test({ name: "…", ignore: prometheus.skip, fn: async () => { prometheus.path … } });
 */
export interface Component {
  /** The binary's path; `undefined` when it is missing. */
  readonly path: string | undefined;
  /** True when the test should be skipped (missing, and not in CI). */
  readonly skip: boolean;
  /** Throws when the component is missing (the CI case). */
  require(): string;
}

export function findBinary(name: string, install: string): Component {
  return component(name, which(name), install);
}

/**
 * A component at a fixed path, for one a project script builds outside `PATH`. With
 * `requiredInCi: false` it is skipped in CI too when missing: for a component whose build
 * takes longer than CI can give it on a fresh machine.
 */
export function findFile(path: string, install: string, options: { requiredInCi?: boolean } = {}): Component {
  let found: string | undefined;
  try {
    if (Deno.statSync(path).isFile) found = path;
  } catch { /* missing */ }
  return component(path, found, install, options.requiredInCi ?? true);
}

function component(name: string, path: string | undefined, install: string, requiredInCi = true): Component {
  const inCi = requiredInCi && Deno.env.get("CI") === "true";
  if (path === undefined && !inCi) {
    console.warn(`Skipping tests that need ${name}: it is not installed (${install}; CI installs it).`);
  }
  return {
    path,
    skip: path === undefined && !inCi,
    require() {
      if (path === undefined) throw new Error(`${name} is required in CI but not installed (${install})`);
      return path;
    },
  };
}

function which(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const candidate = `${dir}/${name}`;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}
