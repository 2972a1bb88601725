/**
 * Server-side request forgery protection for outgoing webhooks: a target whose
 * address is loopback, private, link-local (the cloud metadata service at
 * 169.254.169.254 included), carrier-grade NAT, unspecified or multicast is refused,
 * unless an operator allow-lists its network (`LOOKOUT_WEBHOOK_ALLOW_NETS`). The
 * check runs on the resolved address, inside the connection's own DNS lookup, so a
 * name cannot resolve to a public address when saved and a private one when used.
 *
 * @example
 * const guard = new AddressGuard(["127.0.0.0/8"]);
 * guard.refusal("10.1.2.3") // "10.1.2.3 is in the private network 10.0.0.0/8"
 */
import { isIP } from "node:net";
import { lookup } from "node:dns/promises";
import { ValidationError } from "../../domain/errors.ts";

interface Network {
  readonly text: string;
  readonly bits: bigint;
  readonly prefix: number;
  readonly v6: boolean;
}

const BLOCKED: readonly [string, string][] = [
  ["0.0.0.0/8", "unspecified"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "carrier-grade NAT"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local (cloud metadata)"],
  ["172.16.0.0/12", "private"],
  ["192.168.0.0/16", "private"],
  ["224.0.0.0/3", "multicast or reserved"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["fc00::/7", "private"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
];

export class AddressGuard {
  readonly #allowed: readonly Network[];
  readonly #blocked = BLOCKED.map(([cidr, kind]) => ({ network: parseNetwork(cidr), kind }));

  /** `allowNets`: CIDRs the operator trusts, such as "127.0.0.0/8,10.0.0.0/8" split at commas. */
  constructor(allowNets: readonly string[] = []) {
    this.#allowed = allowNets.map((cidr) => parseNetwork(cidr));
  }

  /** Why `address` may not be called, or undefined when it may. */
  refusal(address: string): string | undefined {
    const ip = normalise(address);
    if (this.#allowed.some((n) => contains(n, ip))) return undefined;
    const hit = this.#blocked.find((b) => contains(b.network, ip));
    return hit ? `${address} is in the ${hit.kind} network ${hit.network.text}` : undefined;
  }

  /** Resolves `url`'s host now and refuses it if any address is refused (the check at save time). */
  async check(url: URL): Promise<void> {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const addresses = isIP(host)
      ? [host]
      : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
    if (addresses.length === 0) {
      throw new ValidationError(`Cannot use ${url.origin}: ${host} does not resolve`);
    }
    for (const address of addresses) {
      const reason = this.refusal(address);
      if (reason) {
        throw new ValidationError(
          `Cannot use ${url.origin}: ${reason}; allow it in LOOKOUT_WEBHOOK_ALLOW_NETS`,
        );
      }
    }
  }
}

/** An IPv4-mapped IPv6 address (::ffff:127.0.0.1, also written ::ffff:7f00:1) is judged as the IPv4 address. */
function normalise(address: string): { bits: bigint; v6: boolean } {
  if (isIP(address) === 4) return { bits: v4Bits(address), v6: false };
  const bits = v6Bits(address);
  return bits >> 32n === 0xffffn ? { bits: bits & 0xffffffffn, v6: false } : { bits, v6: true };
}

function contains(network: Network, ip: { bits: bigint; v6: boolean }): boolean {
  if (network.v6 !== ip.v6) return false;
  const width = network.v6 ? 128 : 32;
  const shift = BigInt(width - network.prefix);
  return (ip.bits >> shift) === (network.bits >> shift);
}

function parseNetwork(cidr: string): Network {
  const [address, prefixText] = cidr.trim().split("/");
  const family = isIP(address);
  const width = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > width) {
    throw new ValidationError(
      `Cannot read network "${cidr}": expected a CIDR such as 10.0.0.0/8 or fd00::/8`,
    );
  }
  return {
    text: cidr.trim(),
    bits: family === 4 ? v4Bits(address) : v6Bits(address),
    prefix,
    v6: family === 6,
  };
}

function v4Bits(ip: string): bigint {
  return ip.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6Bits(ip: string): bigint {
  let text = ip.toLowerCase();
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const b = v4Bits(v4Tail[1]);
    text = text.slice(0, -v4Tail[1].length) + `${(b >> 16n).toString(16)}:${(b & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail === undefined ? [] : tail ? tail.split(":") : [];
  const groups = tail === undefined
    ? left
    : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || "0", 16)), 0n);
}
