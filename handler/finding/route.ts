import { decide, type FindingFilter } from "./filter";
import { mapFinding, type MappedFinding } from "./mapping";
import type { Finding } from "./model";
import { readFinding } from "./read";

export type Routed =
  | {
      kind: "send";
      action: "trigger" | "resolve";
      why: string;
      /** For a resolve: the finding itself is done, not only its workflow marked RESOLVED. */
      passed: boolean;
      /** For a resolve: the finding still fails, below the stack's severity labels. */
      below: boolean;
      /** For a resolve: the finding's workflow closes it (a change that keeps UpdatedAt). */
      workflow: boolean;
      /** Who paged by hand, when a person did. */
      byHand?: string;
      finding: Finding;
      mapped: MappedFinding;
    }
  | { kind: "skip"; findingId: string; reason: string }
  | { kind: "invalid"; findingId?: string; reason: string };

export interface RouteOptions {
  /** Paged by a person (a Security Hub custom action): a trigger whatever the stack's filter says. */
  byHand?: string;
}

/** What the deployment does with one finding: send it as a trigger or a resolve, skip it, or refuse it. */
export function routeFinding(raw: unknown, filter: FindingFilter, options: RouteOptions = {}): Routed {
  const reading = readFinding(raw);
  if (!reading.ok) {
    return reading.findingId === undefined
      ? { kind: "invalid", reason: reading.reason }
      : { kind: "invalid", findingId: reading.findingId, reason: reading.reason };
  }
  const { finding } = reading;
  const decision =
    options.byHand === undefined
      ? decide(finding, filter)
      : { action: "trigger" as const, reason: options.byHand };
  if (decision.action === "skip") return { kind: "skip", findingId: finding.id, reason: decision.reason };
  const passed = decision.action === "resolve" && decision.passed;
  return {
    kind: "send",
    action: decision.action,
    why: decision.reason,
    passed,
    below: decision.action === "resolve" && decision.below === true,
    workflow: decision.action === "resolve" && decision.workflow === true,
    ...(options.byHand === undefined ? {} : { byHand: options.byHand }),
    finding,
    mapped: mapFinding(
      finding,
      decision.action,
      options.byHand === undefined ? {} : { byHand: options.byHand },
    ),
  };
}
