import { createServer, type IncomingMessage, type ServerResponse } from "http";
import { closeServer, readBody, send } from "./http";
import type { AddressInfo } from "net";
import { createPagerDutyModel, type PagerDutyModel, type PagerDutyModelOptions } from "./pagerdutyModel";

/** What the next requests meet instead of (or before) PagerDuty's answer. */
export type Fault =
  | { kind: "status"; status: number }
  | { kind: "delay"; ms: number }
  /** The connection is closed without an answer. */
  | { kind: "drop" };

export interface PagerDutyStandIn {
  /** The Events API v2 URL to send to. */
  url: string;
  model: PagerDutyModel;
  /** Applies `fault` to the next `times` requests, after the faults already queued. */
  injectFault(fault: Fault, times?: number): void;
  close(): Promise<void>;
}

/** The Events API v2 on 127.0.0.1, answering from the strict model. */
export async function startPagerDutyStandIn(options: PagerDutyModelOptions = {}): Promise<PagerDutyStandIn> {
  const model = createPagerDutyModel(options);
  const faults: Fault[] = [];
  const server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const fault = faults.shift();
    if (fault?.kind === "drop") {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === "status") {
      send(response, fault.status, JSON.stringify({ status: "error", message: "injected fault" }));
      return;
    }
    if (request.method !== "POST" || request.url !== "/v2/enqueue") {
      send(
        response,
        404,
        JSON.stringify({ status: "not found", message: `${request.method} ${request.url}` }),
      );
      return;
    }
    if (!/^application\/json\b/.test(request.headers["content-type"] ?? "")) {
      send(
        response,
        400,
        JSON.stringify({
          status: "invalid event",
          message: "Event object is invalid",
          errors: ["Content-Type must be application/json"],
        }),
      );
      return;
    }
    const answer = model.receive(body);
    send(response, answer.status, answer.body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v2/enqueue`,
    model,
    injectFault(fault, times = 1) {
      for (let count = 0; count < times; count += 1) faults.push(fault);
    },
    close: () => closeServer(server),
  };
}
