import { createHmac, randomUUID } from "crypto";
import type { Alert, PagerDutyModel, Responder } from "./pagerdutyModel";

// PagerDuty's v3 webhooks, as its subscription delivers them: one event per request, the incident in event.data
// (a note's incident as a reference), signed in X-PagerDuty-Signature with HMAC-SHA256 of the raw body. The
// sender can also sign badly, so that an endpoint's refusals can be tested.

export type WebhookType =
  | "incident.triggered"
  | "incident.acknowledged"
  | "incident.resolved"
  | "incident.reopened"
  | "incident.annotated";

/** Who an event says acted: a responder, or PagerDuty itself (an alert resolved through the Events API). */
export type Agent = Responder | "events-api";

export function webhookPayload(
  model: PagerDutyModel,
  alert: Alert,
  type: WebhookType,
  agent: Agent,
  options: { content?: string; occurredAt?: Date; id?: string } = {},
): Record<string, unknown> {
  const incident = {
    id: alert.incidentId,
    type: "incident",
    self: `https://api.pagerduty.com/incidents/${alert.incidentId}`,
    html_url: `https://acme.pagerduty.com/incidents/${alert.incidentId}`,
    number: alert.incidentNumber,
    status: alert.status,
    incident_key: alert.dedupKey,
    created_at: new Date(alert.openedAt).toISOString(),
    title: alert.summary,
    service: {
      id: model.serviceId,
      type: "service_reference",
      summary: "Security Hub findings",
      html_url: `https://acme.pagerduty.com/services/${model.serviceId}`,
    },
    urgency: alert.severity === "critical" || alert.severity === "error" ? "high" : "low",
  };
  const data =
    type === "incident.annotated"
      ? {
          incident: { id: alert.incidentId, type: "incident_reference", html_url: incident.html_url },
          id: `N${randomUUID().slice(0, 6).toUpperCase()}`,
          content: options.content ?? "",
          trimmed: false,
          type: "incident_note",
        }
      : incident;
  return {
    event: {
      id: options.id ?? randomUUID(),
      event_type: type,
      resource_type: "incident",
      occurred_at: (options.occurredAt ?? new Date()).toISOString(),
      agent:
        agent === "events-api"
          ? { id: "PINTEGR", type: "service_reference", summary: "Security Hub findings" }
          : { id: agent.id, type: "user_reference", summary: agent.name },
      client: agent === "events-api" ? { name: "Events API" } : { name: "PagerDuty" },
      data,
    },
  };
}

export function sign(body: string, secret: string): string {
  return `v1=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export type Signing = "valid" | "wrong" | "none" | "rotating";

/** POSTs a webhook body as PagerDuty does; `signing` chooses how (or whether) it is signed. */
export async function deliverWebhook(
  url: string,
  body: string,
  secret: string,
  signing: Signing = "valid",
): Promise<{ status: number; body: string }> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "PagerDuty-Webhook/V3.0",
    "x-webhook-id": randomUUID(),
  };
  if (signing === "valid") headers["x-pagerduty-signature"] = sign(body, secret);
  if (signing === "wrong") headers["x-pagerduty-signature"] = sign(body, `${secret}-not`);
  // While a secret is rotated, PagerDuty sends one signature per secret: the old one and the current one.
  if (signing === "rotating")
    headers["x-pagerduty-signature"] = `${sign(body, "the-previous-secret-00")},${sign(body, secret)}`;
  const response = await fetch(url, { method: "POST", headers, body });
  return { status: response.status, body: await response.text() };
}
