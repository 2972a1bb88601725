/**
 * Debian's `chromium` for browser tests, driven by `playwright-core` (which brings no
 * browser of its own). `chromiumPath()` finds the binary; scripts/install-chromium.sh
 * installs it.
 */
import { existsSync } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path));
}
