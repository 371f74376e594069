// A strict model of the PagerDuty Events API v2: it validates every event against the documented rules,
// answers as PagerDuty does, enforces the per-routing-key rate limit over a rolling minute, and keeps alert
// state per (routing key, dedup key). The HTTP stand-in and the benchmark both drive this one model.

import { randomUUID } from "crypto";

/** "512 KB", read as PagerDuty may mean it: 512,000 bytes (an event the function sends must pass either reading). */
export const MAX_EVENT_BYTES = 512_000;
const SEVERITIES = ["critical", "error", "warning", "info"];
const ACTIONS = ["trigger", "acknowledge", "resolve"];
const TOP_LEVEL_FIELDS = [
  "routing_key",
  "event_action",
  "dedup_key",
  "payload",
  "images",
  "links",
  "client",
  "client_url",
];
const PAYLOAD_FIELDS = [
  "summary",
  "source",
  "severity",
  "timestamp",
  "component",
  "group",
  "class",
  "custom_details",
];
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

export interface Answer {
  status: number;
  body: string;
}

export interface Alert {
  routingKey: string;
  dedupKey: string;
  /** Counts alerts opened with this key: a trigger after a resolve opens alert 2. */
  incident: number;
  status: "triggered" | "acknowledged" | "resolved";
  summary: string;
  severity: string;
  /**
   * The incident's urgency, set once when it opens, as a service with PagerDuty's severity-based urgency rule sets it
   * (the rule of the services the program creates, in and out of support hours): critical and error high, warning
   * and info low. A later trigger does not change it.
   */
  urgency: "high" | "low";
  openedAt: number;
  resolvedAt?: number;
  /** Triggers that updated the open alert instead of paging again. */
  updates: number;
  event: Record<string, unknown>;
  /** The incident the alert opened: its id and its number in the account, as PagerDuty names them. */
  incidentId: string;
  incidentNumber: number;
  /** Who last acted on it in the web app, if anyone did. */
  responder?: Responder;
}

export interface AcceptedEvent {
  at: number;
  routingKey: string;
  dedupKey: string;
  action: string;
  event: Record<string, unknown>;
}

export interface PagerDutyModelOptions {
  /** Events accepted per routing key over a rolling 60 seconds (PagerDuty: about 120). */
  ratePerMinute?: number;
  /** When given, only these routing keys exist; others are answered "Invalid routing key". */
  routingKeys?: string[];
  now?: () => number;
  /** The service the routing keys belong to (default PSVC001). */
  serviceId?: string;
}

export interface Responder {
  id: string;
  name: string;
}

export interface PagerDutyModel {
  serviceId: string;
  receive(body: string): Answer;
  /** A responder acts on the open (or, to reopen, the last) alert of a dedup key, as in PagerDuty's web app. */
  respond(dedupKey: string, action: "acknowledge" | "resolve" | "reopen", responder: Responder): Alert;
  alerts(): Alert[];
  openAlerts(): Alert[];
  accepted(): AcceptedEvent[];
  counts(): { requests: number; accepted: number; rejected: number; rateLimited: number };
}

export function createPagerDutyModel(options: PagerDutyModelOptions = {}): PagerDutyModel {
  const ratePerMinute = options.ratePerMinute ?? 120;
  const now = options.now ?? (() => Date.now());
  const alerts = new Map<string, Alert[]>();
  const windows = new Map<string, number[]>();
  const accepted: AcceptedEvent[] = [];
  const counts = { requests: 0, accepted: 0, rejected: 0, rateLimited: 0 };
  let incidents = 0;

  const invalid = (errors: string[]): Answer => {
    counts.rejected += 1;
    return json(400, { status: "invalid event", message: "Event object is invalid", errors });
  };

  return {
    receive(body) {
      counts.requests += 1;
      if (Buffer.byteLength(body, "utf8") > MAX_EVENT_BYTES) {
        return invalid([`Event object is larger than ${MAX_EVENT_BYTES} bytes`]);
      }
      let event: unknown;
      try {
        event = JSON.parse(body);
      } catch {
        return invalid(["Event object is not valid JSON"]);
      }
      const errors = validate(event);
      if (errors.length > 0) return invalid(errors);
      const valid = event as Record<string, unknown>;
      const routingKey = valid.routing_key as string;
      if (options.routingKeys !== undefined && !options.routingKeys.includes(routingKey)) {
        return invalid(["Invalid routing key"]);
      }

      const at = now();
      const window = (windows.get(routingKey) ?? []).filter((time) => time > at - 60_000);
      windows.set(routingKey, window);
      if (window.length >= ratePerMinute) {
        counts.rateLimited += 1;
        return json(429, {
          status: "throttle event",
          message: "Requests for this service are arriving too quickly. Please retry later.",
        });
      }
      window.push(at);
      counts.accepted += 1;

      const action = valid.event_action as string;
      const dedupKey = typeof valid.dedup_key === "string" ? valid.dedup_key : randomUUID().replace(/-/g, "");
      accepted.push({ at, routingKey, dedupKey, action, event: valid });
      const history = alerts.get(`${routingKey}\n${dedupKey}`) ?? [];
      alerts.set(`${routingKey}\n${dedupKey}`, history);
      const open = history.find((alert) => alert.status !== "resolved");
      const payload = valid.payload as Record<string, unknown> | undefined;
      if (action === "trigger") {
        if (open !== undefined) {
          open.updates += 1;
          open.event = valid;
        } else {
          history.push({
            routingKey,
            dedupKey,
            incident: history.length + 1,
            status: "triggered",
            summary: String(payload?.summary),
            severity: String(payload?.severity),
            urgency: payload?.severity === "critical" || payload?.severity === "error" ? "high" : "low",
            openedAt: at,
            updates: 0,
            event: valid,
            incidentNumber: (incidents += 1),
            incidentId: `Q${String(incidents).padStart(6, "0")}`,
          });
        }
      } else if (open !== undefined) {
        // A resolve or acknowledge for a key with no open alert is dropped, as PagerDuty does.
        open.status = action === "resolve" ? "resolved" : "acknowledged";
        if (action === "resolve") open.resolvedAt = at;
      }
      return json(202, { status: "success", message: "Event processed", dedup_key: dedupKey });
    },
    serviceId: options.serviceId ?? "PSVC001",
    respond(dedupKey, action, responder) {
      const history = [...alerts.values()].flat().filter((alert) => alert.dedupKey === dedupKey);
      const alert =
        action === "reopen"
          ? history[history.length - 1]
          : history.find((entry) => entry.status !== "resolved");
      if (alert === undefined) throw new Error(`no alert to ${action} for ${dedupKey}`);
      alert.status =
        action === "acknowledge" ? "acknowledged" : action === "resolve" ? "resolved" : "triggered";
      if (action === "resolve") alert.resolvedAt = now();
      alert.responder = responder;
      return alert;
    },
    alerts: () => [...alerts.values()].flat(),
    openAlerts: () => [...alerts.values()].flat().filter((alert) => alert.status !== "resolved"),
    accepted: () => [...accepted],
    counts: () => ({ ...counts }),
  };
}

function json(status: number, body: unknown): Answer {
  return { status, body: JSON.stringify(body) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every documented rule the event breaks; unknown fields are refused too, so that a typo cannot pass. */
export function validate(event: unknown): string[] {
  if (!isObject(event)) return ["Event object must be a JSON object"];
  const errors: string[] = [];
  for (const key of Object.keys(event)) {
    if (!TOP_LEVEL_FIELDS.includes(key)) errors.push(`'${key}' is not a field of an Events API v2 event`);
  }
  const key = event.routing_key;
  if (typeof key !== "string" || key === "") {
    errors.push("'routing_key' is missing or blank");
  } else {
    if (key.length !== 32) errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
    if (!/^[A-Za-z0-9]*$/.test(key)) errors.push("'routing_key' cannot contain non-alphanumeric characters.");
  }
  const action = event.event_action;
  if (typeof action !== "string" || !ACTIONS.includes(action)) {
    errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  }
  const dedupKey = event.dedup_key;
  if (dedupKey !== undefined) {
    if (typeof dedupKey !== "string" || dedupKey === "")
      errors.push("'dedup_key' must be a non-blank string");
    else if (dedupKey.length > 255) errors.push("'dedup_key' must be at most 255 characters");
  } else if (action === "acknowledge" || action === "resolve") {
    errors.push(`'dedup_key' is required for ${action} events`);
  }
  if (action === "trigger" || event.payload !== undefined) errors.push(...validatePayload(event.payload));
  errors.push(...validateList(event.images, "images", { src: true, href: false, alt: false }));
  errors.push(...validateList(event.links, "links", { href: true, text: false }));
  for (const field of ["client", "client_url"]) {
    if (event[field] !== undefined && typeof event[field] !== "string")
      errors.push(`'${field}' must be a string`);
  }
  return errors;
}

function validatePayload(payload: unknown): string[] {
  if (!isObject(payload)) return ["'payload' is missing or is not an object"];
  const errors: string[] = [];
  for (const key of Object.keys(payload)) {
    if (!PAYLOAD_FIELDS.includes(key))
      errors.push(`'payload.${key}' is not a field of an Events API v2 payload`);
  }
  const summary = payload.summary;
  if (typeof summary !== "string" || summary.trim() === "")
    errors.push("'payload.summary' is missing or blank");
  else if ([...summary].length > 1024) errors.push("'payload.summary' must be at most 1024 characters");
  if (typeof payload.source !== "string" || payload.source.trim() === "")
    errors.push("'payload.source' is missing or blank");
  if (typeof payload.severity !== "string" || !SEVERITIES.includes(payload.severity)) {
    errors.push("'payload.severity' must be one of critical, error, warning, info");
  }
  const timestamp = payload.timestamp;
  if (
    timestamp !== undefined &&
    (typeof timestamp !== "string" || !ISO_8601.test(timestamp) || Number.isNaN(Date.parse(timestamp)))
  ) {
    errors.push("'payload.timestamp' must be an ISO 8601 timestamp");
  }
  for (const field of ["component", "group", "class"]) {
    if (payload[field] !== undefined && typeof payload[field] !== "string")
      errors.push(`'payload.${field}' must be a string`);
  }
  if (payload.custom_details !== undefined && !isObject(payload.custom_details)) {
    errors.push("'payload.custom_details' must be an object");
  }
  return errors;
}

function validateList(list: unknown, name: string, fields: Record<string, boolean>): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return [`'${name}' must be an array`];
  const errors: string[] = [];
  list.forEach((item, index) => {
    if (!isObject(item)) {
      errors.push(`'${name}[${index}]' must be an object`);
      return;
    }
    for (const [field, required] of Object.entries(fields)) {
      const value = item[field];
      if (value === undefined) {
        if (required) errors.push(`'${name}[${index}].${field}' is required`);
      } else if (typeof value !== "string" || value === "") {
        errors.push(`'${name}[${index}].${field}' must be a non-blank string`);
      }
    }
    for (const key of Object.keys(item)) {
      if (!(key in fields)) errors.push(`'${name}[${index}].${key}' is not a field of ${name}`);
    }
    if (name === "images" && typeof item.src === "string" && !item.src.startsWith("https://")) {
      errors.push(`'images[${index}].src' must be an https URL`);
    }
  });
  return errors;
}
