import { isObject } from "./asff";
import { decide, type FindingFilter } from "./filter";
import { findingIdOf, mapFinding, type MappedFinding } from "./mapping";

export type Routed =
  | {
      kind: "send";
      action: "trigger" | "resolve";
      why: string;
      /** For a resolve: the finding itself is done, not only its workflow marked RESOLVED. */
      passed: boolean;
      mapped: MappedFinding;
    }
  | { kind: "skip"; findingId: string; reason: string }
  | { kind: "invalid"; findingId?: string; reason: string };

/** What the deployment does with one finding: send it as a trigger or a resolve, skip it, or refuse it. */
export function routeFinding(finding: unknown, filter: FindingFilter): Routed {
  const findingId = findingIdOf(finding);
  if (!isObject(finding)) return { kind: "invalid", reason: "finding is not a JSON object" };
  if (findingId === undefined) return { kind: "invalid", reason: "finding has no Id (ASFF requires one)" };
  const decision = decide(finding, filter);
  if (decision.action === "skip") return { kind: "skip", findingId, reason: decision.reason };
  const mapping = mapFinding(finding, decision.action);
  if (!mapping.ok) return { kind: "invalid", findingId, reason: mapping.reason };
  const passed = decision.action === "resolve" && decision.passed;
  return { kind: "send", action: decision.action, why: decision.reason, passed, mapped: mapping.value };
}
