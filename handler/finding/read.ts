import { looksLikeAsff, readAsff } from "./asff";
import { isObject } from "./json";
import type { Finding } from "./model";

export type FindingReading =
  { ok: true; finding: Finding } | { ok: false; reason: string; findingId?: string };

/** A finding in any format the function takes, as the project's finding; or why it cannot be read. */
export function readFinding(raw: unknown): FindingReading {
  if (!isObject(raw)) return { ok: false, reason: "finding is not a JSON object" };
  const read = readAsff(raw);
  return "finding" in read ? { ok: true, finding: read.finding } : { ok: false, reason: read.reason };
}

export { looksLikeAsff };
