/**
 * A real HTTP receiver on loopback for notification tests: records every request's
 * arrival time, headers, text and parsed JSON body, and answers 204.
 *
 * @example
 * const hook = webhookReceiver<{ alerts: unknown[] }>();
 * // channel url: hook.url … hook.received[0].body.alerts
 * await hook.close();
 */
export interface ReceivedRequest<Body> {
  readonly at: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Body;
}

export interface WebhookReceiver<Body> {
  readonly url: string;
  readonly received: ReceivedRequest<Body>[];
  close(): Promise<void>;
}

export function webhookReceiver<Body>(): WebhookReceiver<Body> {
  const received: ReceivedRequest<Body>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const text = await request.text();
    received.push({ at: Date.now(), headers: request.headers, text, body: JSON.parse(text) });
    return new Response(null, { status: 204 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, received, close: () => server.shutdown() };
}
