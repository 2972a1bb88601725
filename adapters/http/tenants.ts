/**
 * Tenants and their API keys. Keys are held only as SHA-256 hashes; a request's key
 * is hashed and looked up, so the tenant always comes from the key, never from a
 * header the client chose.
 *
 * Keys are read from `DD-API-KEY`, `Authorization: Bearer <key>` or
 * `Authorization: Token <key>` (the Influx clients' form); for the Influx 1.x API
 * also from the password of `Authorization: Basic` or the `p` query parameter,
 * which is where 1.x clients put their credentials (the user name is ignored).
 *
 * @example
 * const tenants = TenantDirectory.fromSpec("acme:KEY1,globex:KEY2");
 * tenants.resolve(request.headers) // "acme" | undefined
 */
import { createHash } from "node:crypto";
import { ValidationError } from "../../domain/errors.ts";

const TENANT_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export class TenantDirectory {
  readonly #byKeyHash: ReadonlyMap<string, string>;

  constructor(entries: readonly { tenant: string; keyHash: string }[]) {
    this.#byKeyHash = new Map(entries.map((e) => [e.keyHash, e.tenant]));
  }

  /** Parses `tenant:key,tenant:key`; the keys are hashed at once and not kept. */
  static fromSpec(spec: string): TenantDirectory {
    const entries = spec.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((pair) => {
      const colon = pair.indexOf(":");
      const tenant = colon > 0 ? pair.slice(0, colon) : "";
      const key = colon > 0 ? pair.slice(colon + 1) : "";
      if (!TENANT_NAME.test(tenant)) {
        throw new ValidationError(
          `Cannot configure tenants: "${tenant}" is not a tenant name ([a-zA-Z0-9_-]{1,64})`,
        );
      }
      if (key.length < 8) {
        throw new ValidationError(
          `Cannot configure tenant "${tenant}": its key is shorter than 8 characters`,
        );
      }
      return { tenant, keyHash: hashKey(key) };
    });
    if (entries.length === 0) throw new ValidationError("Cannot configure tenants: none given");
    return new TenantDirectory(entries);
  }

  get tenants(): string[] {
    return [...new Set(this.#byKeyHash.values())];
  }

  /** `query` is given only where a key may come as a query parameter (Influx 1.x `p`). */
  resolve(headers: Headers, query?: URLSearchParams): string | undefined {
    const key = presentedKey(headers) ?? (query?.get("p") || undefined);
    return key === undefined ? undefined : this.#byKeyHash.get(hashKey(key));
  }
}

function presentedKey(headers: Headers): string | undefined {
  const dd = headers.get("dd-api-key");
  if (dd) return dd.trim();
  const authorization = headers.get("authorization");
  if (!authorization) return undefined;
  const match = /^(Bearer|Token|Basic)\s+(.+)$/i.exec(authorization.trim());
  if (!match) return undefined;
  if (match[1].toLowerCase() !== "basic") return match[2].trim();
  try {
    const decoded = atob(match[2].trim());
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  } catch {
    return undefined;
  }
}
