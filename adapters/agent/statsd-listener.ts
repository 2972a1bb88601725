/**
 * A StatsD / DogStatsD UDP listener feeding a `StatsdAggregator`.
 *
 * @example
 * const listener = await StatsdListener.listen({ host: "127.0.0.1", port: 8125 }, aggregator);
 * listener.close();
 */
import { createSocket, type Socket } from "node:dgram";
import type { StatsdAggregator } from "../../domain/agent/statsd.ts";

export interface StatsdAddress {
  readonly host: string;
  readonly port: number;
}

export class StatsdListener {
  private constructor(private readonly socket: Socket) {}

  static listen(address: StatsdAddress, aggregator: StatsdAggregator): Promise<StatsdListener> {
    const socket = createSocket("udp4");
    socket.on("message", (message) => aggregator.ingest(message.toString("utf8")));
    return new Promise((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(address.port, address.host, () => {
        socket.off("error", reject);
        resolve(new StatsdListener(socket));
      });
    });
  }

  /** The bound port (useful when listening on port 0). */
  get port(): number {
    return this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }
}
