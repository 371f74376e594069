import { readAsff } from "./asff";
import { isObject } from "./json";
import type { Finding } from "./model";
import { looksLikeOcsf, readOcsf } from "./ocsf";

export type FindingReading =
  { ok: true; finding: Finding } | { ok: false; reason: string; findingId?: string };

/** Security Lake's OCSF 1.0 findings carry `finding` and `state`, which later OCSF renamed; they are refused. */
function looksLikeOcsf10(value: Record<string, unknown>): boolean {
  return isObject(value.finding) && ("state" in value || "state_id" in value);
}

/** A finding in any format the function takes (ASFF, OCSF 1.1 and later), as the project's finding; or why not. */
export function readFinding(raw: unknown): FindingReading {
  if (!isObject(raw)) return { ok: false, reason: "finding is not a JSON object" };
  if (looksLikeOcsf10(raw)) {
    return {
      ok: false,
      reason:
        "an OCSF 1.0 finding (Security Lake's shape, with finding and state) is not read: expected ASFF, or OCSF 1.1 or later with finding_info",
    };
  }
  const read = looksLikeOcsf(raw) ? readOcsf(raw) : readAsff(raw);
  return "finding" in read ? { ok: true, finding: read.finding } : { ok: false, reason: read.reason };
}
