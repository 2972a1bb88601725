/**
 * The socket factory the Kafka log gives kafkajs (its public `socketFactory` option). It
 * differs from kafkajs' default in two ways, both for broker crashes:
 *
 * - each chunk kafkajs receives is a copy, so the partial responses it keeps between
 *   chunks cannot be overwritten by a later read into a reused buffer;
 * - an exception while kafkajs parses received bytes (seen under Deno right after a
 *   broker `kill -9`: a length read past the end of its buffered chunks, kafkajs issue
 *   #715) destroys that socket, so its requests fail as a connection error and are
 *   retried on a new connection, instead of escaping as an uncaught exception that
 *   ends the process.
 */
import { Buffer } from "node:buffer";
import net from "node:net";
import type { ISocketFactory } from "kafkajs";

const KEEP_ALIVE_DELAY_MS = 60_000;

export const guardedSocketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
  const on = socket.on.bind(socket);
  // deno-lint-ignore no-explicit-any
  socket.on = ((event: string, listener: (...args: any[]) => void) => {
    if (event !== "data") return on(event, listener);
    return on("data", (chunk: Buffer) => {
      try {
        listener(Buffer.from(chunk));
      } catch (error) {
        socket.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }) as typeof socket.on;
  return socket;
};
