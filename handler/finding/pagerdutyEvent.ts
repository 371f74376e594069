// The Events API v2 request body, as documented by PagerDuty.

export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

export interface PagerDutyPayload {
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  timestamp?: string;
  component?: string;
  group?: string;
  class?: string;
  custom_details?: Record<string, unknown>;
}

/** An event as the mapping produces it: everything but the routing key, which only the sender knows. */
export interface PagerDutyEvent {
  event_action: "trigger" | "acknowledge" | "resolve";
  dedup_key: string;
  payload?: PagerDutyPayload;
  links?: { href: string; text?: string }[];
  images?: { src: string; href?: string; alt?: string }[];
  client?: string;
  client_url?: string;
}

export type PagerDutyRequest = PagerDutyEvent & { routing_key: string };

const ROUTING_KEY_PATTERN = /^[A-Za-z0-9]{32}$/;

/** What a routing key looks like, without ever saying what it is. */
export function describeRoutingKeyProblem(key: string): string | undefined {
  if (ROUTING_KEY_PATTERN.test(key)) return undefined;
  if (key.length !== 32) return `it has ${key.length} characters where an Events API v2 routing key has 32`;
  return "it contains characters other than letters and digits";
}
