import { dedupKeyOf } from "../../handler/finding/mapping";
import type { SeverityLabel } from "../../handler/finding/model";
import { electricEyeFinding, importedEvent, type Template } from "./findings";

// What each benchmark scenario sends, and how PagerDuty and SSM misbehave during it.

export const SCENARIOS = [
  "burst",
  "pagerduty-outage",
  "flaky",
  "ssm-throttled",
  "malformed",
  "critical-during-burst",
  "critical-backlog",
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** One record that reaches a delivery queue. */
export interface Arrival {
  at: number;
  /** Index of the account (and routing key, and stack) it belongs to. */
  account: number;
  body: string;
  /** Valid findings go through the stack's EventBridge rules; broken records are put into a queue directly. */
  viaRules: boolean;
  finding?: { id: string; dedupKey: string; severity: SeverityLabel };
  brokenAs?: string;
}

export type PagerDutyFault = { kind: "status"; status: number } | { kind: "timeout" } | undefined;

export interface Scenario {
  arrivals: Arrival[];
  /** What PagerDuty does with a request arriving at `at` (virtual ms since the start). */
  pagerdutyFault(at: number, random: () => number): PagerDutyFault;
  ssmThrottled(at: number): boolean;
}

const MINUTE = 60_000;
// A first ElectricEye scan imports its findings within a couple of minutes.
const BURST_MS = 2 * MINUTE;

export function accountId(account: number): string {
  return String(100_000_000_000 + account);
}

function findingArrival(
  template: Template,
  index: number,
  account: number,
  at: number,
  start: number,
): Arrival {
  const finding = electricEyeFinding(
    template,
    `bench-bucket-${String(index).padStart(6, "0")}`,
    accountId(account),
  );
  const id = String(finding.Id);
  return {
    at,
    account,
    body: JSON.stringify(importedEvent([finding], new Date(start + at))),
    viaRules: true,
    finding: {
      id,
      dedupKey: dedupKeyOf(String(finding.ProductArn), id),
      severity: (finding.Severity as { Label: SeverityLabel }).Label,
    },
  };
}

function burst(
  findings: number,
  keys: number,
  start: number,
  template: Template = "s3-encryption-high",
): Arrival[] {
  return Array.from({ length: findings }, (_, index) =>
    findingArrival(template, index, index % keys, Math.floor((index * BURST_MS) / findings), start),
  );
}

// The ways records really break: a body cut short, an event without detail, findings that are not a list, a
// finding without the Id that ASFF requires.
const BREAKAGES: [string, (body: string) => string][] = [
  ["truncated body", (body) => body.slice(0, Math.floor(body.length / 2))],
  ["no detail", (body) => JSON.stringify({ ...(JSON.parse(body) as object), detail: undefined })],
  [
    "findings not a list",
    (body) => {
      const event = JSON.parse(body) as { detail: { findings: unknown[] } };
      return JSON.stringify({ ...event, detail: { findings: event.detail.findings[0] } });
    },
  ],
  [
    "finding without Id",
    (body) => {
      const event = JSON.parse(body) as { detail: { findings: Record<string, unknown>[] } };
      const { Id: _, ...finding } = event.detail.findings[0] ?? {};
      return JSON.stringify({ ...event, detail: { findings: [finding] } });
    },
  ],
];

export function buildScenario(
  name: ScenarioName,
  findings: number,
  keys: number,
  start: number,
  limitMs: number,
): Scenario {
  const healthy: Scenario = {
    arrivals: burst(findings, keys, start),
    pagerdutyFault: () => undefined,
    ssmThrottled: () => false,
  };
  switch (name) {
    case "burst":
      return healthy;
    case "pagerduty-outage": {
      const from = Math.round(limitMs / 2);
      return {
        ...healthy,
        pagerdutyFault: (at) =>
          at >= from && at < from + 30 * MINUTE ? { kind: "status", status: 503 } : undefined,
      };
    }
    case "flaky":
      return {
        ...healthy,
        pagerdutyFault: (_, random) => {
          const draw = random();
          if (draw < 0.2) return { kind: "status", status: [500, 502, 503][Math.floor(draw * 15)] ?? 503 };
          return draw < 0.25 ? { kind: "timeout" } : undefined;
        },
      };
    case "ssm-throttled":
      // From the second minute, when containers are warm, for ten minutes: refreshes fail, cold starts too.
      return { ...healthy, ssmThrottled: (at) => at < 10 * MINUTE };
    case "malformed":
      return {
        ...healthy,
        arrivals: healthy.arrivals.map((arrival, index) => {
          if (index % 20 !== 19) return arrival;
          const [kind, breakIt] = BREAKAGES[Math.floor(index / 20) % BREAKAGES.length] as [
            string,
            (body: string) => string,
          ];
          return {
            at: arrival.at,
            account: arrival.account,
            body: breakIt(arrival.body),
            viaRules: false,
            brokenAs: kind,
          };
        }),
      };
    case "critical-during-burst": {
      // Twenty CRITICAL findings spread over the thirty minutes after the burst.
      const critical = Array.from({ length: 20 }, (_, index) =>
        findingArrival(
          "s3-public-policy-critical",
          findings + index,
          index % keys,
          BURST_MS + index * 90_000,
          start,
        ),
      );
      return { ...healthy, arrivals: [...healthy.arrivals, ...critical].sort((a, b) => a.at - b.at) };
    }
    case "critical-backlog": {
      // A first scan in which a CRITICAL check fails on every resource: its pages queue behind each other for as
      // long as they take, and one HIGH finding arrives with every 75 of them.
      const spread = (count: number, template: Template, first: number) =>
        Array.from({ length: count }, (_, index) =>
          findingArrival(
            template,
            first + index,
            index % keys,
            Math.floor(((index + 0.5) * BURST_MS) / count),
            start,
          ),
        );
      const critical = spread(findings, "s3-public-policy-critical", 0);
      const high = spread(Math.max(1, Math.floor(findings / 75)), "s3-encryption-high", findings);
      return { ...healthy, arrivals: [...critical, ...high].sort((a, b) => a.at - b.at) };
    }
  }
}
