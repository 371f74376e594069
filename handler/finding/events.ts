import { isObject, textAt } from "./json";
import { looksLikeOcsf } from "./ocsf";
import { parseJson } from "./json";

// Reading what arrives: EventBridge events (in SQS records or invoked directly) and, for the command-line
// tools, every shape in which findings are written down.

export const IMPORTED = "Security Hub Findings - Imported";
export const CUSTOM_ACTION = "Security Hub Findings - Custom Action";
/** The new Security Hub's event: one OCSF finding. */
export const IMPORTED_V2 = "Findings Imported V2";
export const FINDING_DETAIL_TYPES = [IMPORTED, CUSTOM_ACTION, IMPORTED_V2] as const;

export type EventReading =
  | {
      kind: "findings";
      detailType: string;
      findings: unknown[];
      actionName?: string;
      /** When EventBridge received the event (epoch ms): for the findings of an import, when they were imported. */
      time?: number;
    }
  | { kind: "skip"; reason: string }
  | { kind: "malformed"; reason: string };

export function readEvent(event: unknown): EventReading {
  if (!isObject(event)) return { kind: "malformed", reason: "event is not a JSON object" };
  const detailType = textAt(event, "detail-type");
  const source = textAt(event, "source");
  if (source !== undefined && source !== "aws.securityhub") {
    return { kind: "skip", reason: `event source ${source} is not aws.securityhub` };
  }
  if (detailType === undefined) return { kind: "malformed", reason: "event has no detail-type" };
  if (!(FINDING_DETAIL_TYPES as readonly string[]).includes(detailType)) {
    return { kind: "skip", reason: `detail-type "${detailType}" carries no findings` };
  }
  const detail = event.detail;
  if (!isObject(detail)) return { kind: "malformed", reason: "event has no detail object" };
  if (!Array.isArray(detail.findings))
    return { kind: "malformed", reason: "detail.findings is not an array" };
  const actionName = textAt(detail, "actionName");
  const time = Date.parse(textAt(event, "time") ?? "");
  return {
    kind: "findings",
    detailType,
    findings: detail.findings,
    ...(actionName === undefined ? {} : { actionName }),
    ...(Number.isNaN(time) ? {} : { time }),
  };
}

export function readRecordBody(body: string): EventReading {
  const parsed = parseJson(body);
  if (!parsed.ok) return { kind: "malformed", reason: `message body is not JSON: ${parsed.reason}` };
  return readEvent(parsed.value);
}

export interface DocumentFinding {
  finding: unknown;
  /** Where it came from, for messages: "event 2, finding 1". */
  origin: string;
}

export interface DocumentReading {
  findings: DocumentFinding[];
  skipped: { origin: string; reason: string }[];
}

function looksLikeEvent(value: unknown): boolean {
  return isObject(value) && ("detail-type" in value || "detail" in value);
}

/**
 * Findings from any of the shapes people have: an EventBridge event or a list of them, a bare finding or a list
 * of them, or a {"Findings": [...]} / {"findings": [...]} batch (GetFindings, ElectricEye, other scanners).
 * Returns undefined when the document is none of these.
 */
export function readDocument(document: unknown): DocumentReading | undefined {
  const reading: DocumentReading = { findings: [], skipped: [] };
  const addEvent = (event: unknown, origin: string) => {
    const result = readEvent(event);
    if (result.kind === "findings") {
      result.findings.forEach((finding, index) =>
        reading.findings.push({ finding, origin: `${origin}, finding ${index + 1}` }),
      );
    } else {
      reading.skipped.push({ origin, reason: result.reason });
    }
  };
  const addFindings = (list: unknown[], origin: string) =>
    list.forEach((finding, index) => reading.findings.push({ finding, origin: `${origin} ${index + 1}` }));

  if (Array.isArray(document)) {
    if (document.length > 0 && document.every(looksLikeEvent)) {
      document.forEach((event, index) => addEvent(event, `event ${index + 1}`));
    } else if (document.every(isObject)) {
      addFindings(document, "finding");
    } else {
      return undefined;
    }
  } else if (looksLikeEvent(document)) {
    addEvent(document, "event");
  } else if (isObject(document) && Array.isArray(document.Findings)) {
    addFindings(document.Findings, "finding");
  } else if (isObject(document) && Array.isArray(document.findings)) {
    addFindings(document.findings, "finding");
  } else if (
    isObject(document) &&
    ("Id" in document || "SchemaVersion" in document || looksLikeOcsf(document))
  ) {
    addFindings([document], "finding");
  } else {
    return undefined;
  }
  return reading;
}
