import { randomBytes } from "crypto";
import { createServer } from "http";
import type { AddressInfo } from "net";
import { closeServer, readBody, send } from "./http";

// PagerDuty's REST API for webhook subscriptions, as its reference documents it: a token in
// "Authorization: Token token=…", the versioned Accept header, an https delivery URL, known event types, a
// service filter; the signing secret is in the answer to the create call and never again.

const EVENT_TYPES = new Set([
  "incident.acknowledged",
  "incident.annotated",
  "incident.delegated",
  "incident.escalated",
  "incident.priority_updated",
  "incident.reassigned",
  "incident.reopened",
  "incident.resolved",
  "incident.responder.added",
  "incident.responder.replied",
  "incident.status_update_published",
  "incident.triggered",
  "incident.unacknowledged",
]);

interface Subscription {
  id: string;
  url: string;
  events: string[];
  description: string;
  serviceId: string;
  secret: string;
}

export interface PagerDutyRestStandIn {
  url: string;
  subscriptions(): Subscription[];
  close(): Promise<void>;
}

export async function startPagerDutyRestStandIn(token: string): Promise<PagerDutyRestStandIn> {
  const subscriptions = new Map<string, Subscription>();
  let next = 0;
  const error = (status: number, message: string, errors: string[] = []) => ({
    status,
    body: { error: { message, code: status === 401 ? 2006 : 2001, errors } },
  });
  const present = (subscription: Subscription, withSecret: boolean) => ({
    webhook_subscription: {
      id: subscription.id,
      type: "webhook_subscription",
      active: true,
      description: subscription.description,
      delivery_method: {
        type: "http_delivery_method",
        url: subscription.url,
        temporarily_disabled: false,
        ...(withSecret ? { secret: subscription.secret } : {}),
      },
      events: subscription.events,
      filter: { type: "service_reference", id: subscription.serviceId },
    },
  });
  const validate = (body: unknown): string[] | Omit<Subscription, "id" | "secret"> => {
    const subscription = (body as { webhook_subscription?: Record<string, unknown> }).webhook_subscription;
    const problems: string[] = [];
    const method = subscription?.delivery_method as { type?: unknown; url?: unknown } | undefined;
    const filter = subscription?.filter as { type?: unknown; id?: unknown } | undefined;
    const events = subscription?.events;
    if (subscription?.type !== "webhook_subscription") problems.push("Type must be webhook_subscription");
    if (method?.type !== "http_delivery_method")
      problems.push("Delivery method type must be http_delivery_method");
    if (typeof method?.url !== "string" || !/^https:\/\/\S+$/.test(method.url))
      problems.push("Delivery method URL must be an https URL");
    if (
      !Array.isArray(events) ||
      events.length === 0 ||
      !events.every((event) => EVENT_TYPES.has(String(event)))
    )
      problems.push("Events must be a non-empty list of known event types");
    if (filter?.type !== "service_reference" || typeof filter.id !== "string" || filter.id === "")
      problems.push("Filter must reference a service");
    if (problems.length > 0) return problems;
    return {
      url: String(method?.url),
      events: (events as unknown[]).map(String),
      description: String(subscription?.description ?? ""),
      serviceId: String(filter?.id),
    };
  };

  const server = createServer((request, response) => {
    void (async () => {
      const raw = await readBody(request);
      const answer = (() => {
        if (request.headers.authorization !== `Token token=${token}`) return error(401, "Unauthorized");
        if (request.headers.accept !== "application/vnd.pagerduty+json;version=2")
          return error(406, "Not Acceptable");
        const [, collection, id] =
          /^\/(webhook_subscriptions)(?:\/([A-Z0-9]+))?$/.exec(request.url ?? "") ?? [];
        if (collection === undefined) return error(404, "Not Found");
        const known = id === undefined ? undefined : subscriptions.get(id);
        if (id !== undefined && known === undefined) return error(404, "Not Found");
        if (request.method === "POST" && id === undefined) {
          const checked = validate(JSON.parse(raw || "{}"));
          if (Array.isArray(checked)) return error(400, "Invalid Input Provided", checked);
          const created = {
            ...checked,
            id: `PWH${String((next += 1)).padStart(4, "0")}`,
            secret: randomBytes(24).toString("base64url"),
          };
          subscriptions.set(created.id, created);
          return { status: 201, body: present(created, true) };
        }
        if (request.method === "GET" && known !== undefined)
          return { status: 200, body: present(known, false) };
        if (request.method === "PUT" && known !== undefined) {
          const checked = validate(JSON.parse(raw || "{}"));
          if (Array.isArray(checked)) return error(400, "Invalid Input Provided", checked);
          Object.assign(known, checked);
          return { status: 200, body: present(known, false) };
        }
        if (request.method === "DELETE" && known !== undefined) {
          subscriptions.delete(known.id);
          return { status: 204, body: undefined };
        }
        return error(405, "Method Not Allowed");
      })();
      send(response, answer.status, answer.body === undefined ? "" : JSON.stringify(answer.body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    subscriptions: () => [...subscriptions.values()].map((subscription) => ({ ...subscription })),
    close: () => closeServer(server),
  };
}
