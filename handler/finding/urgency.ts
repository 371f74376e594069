import type { SeverityLabel } from "./model";
import type { PagerDutyEvent, PagerDutySeverity } from "./pagerdutyEvent";

// Who is woken, and when. PagerDuty sets an incident's urgency once, when it opens, from the service's urgency
// rule; the services this program creates use the severity-based rule inside and outside their support hours
// (critical and error are high, warning and info low). Its support-hours rule cannot say "CRITICAL at any hour,
// the rest only inside the hours, the first deploy's backlog never", so the function decides, with the same
// support hours the service carries, and sends the severity that gives that urgency.

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export interface SupportHours {
  /** An IANA time zone, as PagerDuty takes it (e.g. Europe/Berlin). */
  timeZone: string;
  /** ISO weekdays, 1 (Monday) to 7 (Sunday), as PagerDuty numbers them. */
  days: number[];
  /** Minutes after midnight, in the time zone: start inclusive, end exclusive. */
  startMinute: number;
  endMinute: number;
}

export interface UrgencyPolicy {
  /** Undefined: PagerDuty's severity-based urgency at every hour (CRITICAL and HIGH high, the rest low). */
  supportHours: SupportHours | undefined;
  /** Severities that are high urgency outside support hours too. */
  urgentAtAnyHour: SeverityLabel[];
  /** Until when (epoch ms) alerts that open are the backlog found by the first deploy: low urgency. */
  backlogUntil: number | undefined;
}

/** A route's policy: the stack's, with the route's own support hours (null: none) when it has them. */
export function routeUrgency(
  policy: UrgencyPolicy | undefined,
  supportHours: SupportHours | null | undefined,
): UrgencyPolicy | undefined {
  if (policy === undefined || supportHours === undefined) return policy;
  return { ...policy, supportHours: supportHours ?? undefined };
}

export interface UrgencyInput {
  label: SeverityLabel;
  /** Paged by a person (the Security Hub custom action). */
  byHand: boolean;
  /** The finding failed again after its alert was resolved: a new failure, never backlog. */
  regression: boolean;
  /**
   * When Security Hub imported the finding (the event's time): the backlog is what was imported before the window
   * ends, however long PagerDuty's rate limit makes the first scan take to page. Absent: the moment it pages.
   */
  importedAt?: number;
}

export interface Urgency {
  urgency: "high" | "low";
  why: string;
}

const SEVERITY_BASED: Record<SeverityLabel, "high" | "low"> = {
  CRITICAL: "high",
  HIGH: "high",
  MEDIUM: "low",
  LOW: "low",
  INFORMATIONAL: "low",
};

function clock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

/** The hours as the configuration writes them: "Mon-Fri 09:00-17:00 Europe/Berlin". */
export function describeSupportHours(hours: SupportHours): string {
  const days = [...hours.days].sort((a, b) => a - b);
  const first = days[0] ?? 1;
  const consecutive = days.every((day, index) => day === first + index);
  const dayText =
    consecutive && days.length > 1
      ? `${WEEKDAYS[first - 1]}-${WEEKDAYS[(days[days.length - 1] ?? first) - 1]}`
      : days.map((day) => WEEKDAYS[day - 1]).join(",");
  return `${dayText} ${clock(hours.startMinute)}-${clock(hours.endMinute)} ${hours.timeZone}`;
}

// A formatter per call (about 0.4 ms): a cache kept in this module would be captured, with its formatters, when
// Pulumi serializes the function's code.
/** Whether a moment lies inside the support hours, in their time zone. */
export function insideSupportHours(hours: SupportHours, at: number): boolean {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: hours.timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(at));
  const part = (type: string) => parts.find((candidate) => candidate.type === type)?.value ?? "";
  const day = WEEKDAYS.indexOf(part("weekday") as (typeof WEEKDAYS)[number]) + 1;
  const minute = Number(part("hour")) * 60 + Number(part("minute"));
  return hours.days.includes(day) && minute >= hours.startMinute && minute < hours.endMinute;
}

/** Pure: the urgency an alert that opens at `at` should have. */
export function urgencyOf(input: UrgencyInput, at: number, policy: UrgencyPolicy): Urgency {
  if (input.byHand) return { urgency: "high", why: "paged by hand" };
  if (
    !input.regression &&
    policy.backlogUntil !== undefined &&
    (input.importedAt ?? at) < policy.backlogUntil
  )
    return {
      urgency: "low",
      why: `backlog: imported before ${new Date(policy.backlogUntil).toISOString()}, the end of the first deploy's baseline`,
    };
  const hours = policy.supportHours;
  if (hours === undefined)
    return { urgency: SEVERITY_BASED[input.label], why: `${input.label}, by severity` };
  if (policy.urgentAtAnyHour.includes(input.label))
    return { urgency: "high", why: `${input.label} pages at any hour` };
  return insideSupportHours(hours, at)
    ? { urgency: "high", why: `inside support hours (${describeSupportHours(hours)})` }
    : { urgency: "low", why: `outside support hours (${describeSupportHours(hours)})` };
}

/** The PagerDuty severity that gives an urgency under the severity-based rule. */
export function severityFor(label: SeverityLabel, urgency: Urgency["urgency"]): PagerDutySeverity {
  if (urgency === "high") return label === "CRITICAL" ? "critical" : "error";
  return label === "INFORMATIONAL" ? "info" : "warning";
}

/** A trigger carrying its urgency: the severity that gives it, and why, in the alert's details. */
export function withUrgency(event: PagerDutyEvent, label: SeverityLabel, urgency: Urgency): PagerDutyEvent {
  if (event.event_action !== "trigger" || event.payload === undefined) return event;
  return {
    ...event,
    payload: {
      ...event.payload,
      severity: severityFor(label, urgency.urgency),
      custom_details: { ...event.payload.custom_details, urgency: `${urgency.urgency}: ${urgency.why}` },
    },
  };
}
