/**
 * Parameters of a Prometheus API request: the query string merged with a
 * `application/x-www-form-urlencoded` body (POST), repeated keys kept (`match[]`).
 * Times are Unix seconds (fractions allowed) or RFC 3339, as Prometheus takes them.
 */
import { ValidationError } from "../../domain/errors.ts";

export class PromParams {
  private constructor(readonly params: URLSearchParams) {}

  static async from(request: Request): Promise<PromParams> {
    const params = new URL(request.url).searchParams;
    const type = request.headers.get("content-type") ?? "";
    if (request.method === "POST" && type.includes("application/x-www-form-urlencoded")) {
      const text = await request.text();
      for (const [key, value] of new URLSearchParams(text)) params.append(key, value);
    }
    return new PromParams(params);
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  one(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  all(name: string): string[] {
    return this.params.getAll(name);
  }

  required(name: string): string {
    const value = this.params.get(name);
    if (value === null || value === "") {
      throw new ValidationError(`invalid parameter "${name}": it is required`);
    }
    return value;
  }
}

/** A Prometheus API time in ms. */
export function parseTime(text: string, name: string): number {
  const seconds = Number(text);
  if (text.trim() !== "" && Number.isFinite(seconds)) return Math.round(seconds * 1000);
  const ms = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}T/.test(text) && Number.isFinite(ms)) return ms;
  throw new ValidationError(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
}
