import { createServer } from "http";
import type { AddressInfo } from "net";
import { AwsError, unsignedRequestError } from "./awsJson";
import { closeServer, readBody, send } from "./http";

// Security Hub's BatchUpdateFindings as its API reference documents it: up to 100 identifiers, each with Id and
// ProductArn; a Note with Text and UpdatedBy of 1 to 512 characters; Workflow.Status one of NEW, NOTIFIED,
// RESOLVED, SUPPRESSED; findings it does not hold come back as unprocessed. Like Security Hub, it emits a
// "Security Hub Findings - Imported" event for each finding it updated, without changing its UpdatedAt.
// BatchUpdateFindingsV2 likewise for the new Security Hub's OCSF findings: identifiers of account, finding_info.uid
// and metadata.product.uid (or MetadataUids, never both), a Comment, a StatusId of OCSF's; a "Findings Imported
// V2" event follows each update.

const WORKFLOW_STATUSES = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];
const MAX_IDENTIFIERS = 100;
const NOTE_MAX = 512;

type Json = Record<string, unknown>;

export interface SecurityHubService {
  /**
   * Findings as their products import them (BatchImportFindings); answers them as Security Hub then holds them.
   * Like Security Hub, it keeps the workflow and note a customer set when a product re-imports a finding, and sets
   * the workflow back to NEW when an archived finding becomes active again or a passed one fails.
   */
  importFindings(findings: Json[]): Json[];
  finding(id: string, productArn: string): Json | undefined;
  batchUpdateFindings(input: Json): Json;
  /**
   * The new Security Hub's findings (OCSF), as its products send them; like importFindings, a customer's status
   * and comment survive a re-import.
   */
  importFindingsV2(findings: Json[]): Json[];
  findingV2(accountUid: string, findingUid: string, productUid: string): Json | undefined;
  /** BatchUpdateFindingsV2: by account, finding_info.uid and product uid; a comment, a status_id, a severity_id. */
  batchUpdateFindingsV2(input: Json): Json;
  /** Every accepted request, in order. */
  updates: Json[];
}

function invalid(message: string): never {
  throw new AwsError("InvalidInputException", message);
}

const keyOf = (id: string, productArn: string) => `${productArn}\n${id}`;

export function createSecurityHubService(
  onImported: (event: Json) => void = () => undefined,
  /** Security Hub's clock: it stamps notes and its events' `time` (whole seconds, as EventBridge gives it). */
  clock: () => number = Date.now,
): SecurityHubService {
  const findings = new Map<string, Json>();
  const v2Findings = new Map<string, Json>();
  const updates: Json[] = [];
  return {
    importFindings(list) {
      return list.map((finding) => {
        const key = keyOf(String(finding.Id), String(finding.ProductArn));
        const held = findings.get(key);
        const compliance = (value: Json | undefined) => (value?.Compliance as Json | undefined)?.Status;
        const reopened =
          held !== undefined &&
          ((held.RecordState === "ARCHIVED" && finding.RecordState === "ACTIVE") ||
            (compliance(held) === "PASSED" && compliance(finding) === "FAILED"));
        const stored: Json =
          held === undefined
            ? { Workflow: { Status: "NEW" }, ...structuredClone(finding) }
            : {
                ...structuredClone(finding),
                Workflow: reopened ? { Status: "NEW" } : held.Workflow,
                ...(held.Note === undefined ? {} : { Note: held.Note }),
              };
        findings.set(key, stored);
        return structuredClone(stored);
      });
    },
    finding: (id, productArn) => structuredClone(findings.get(keyOf(id, productArn))),
    importFindingsV2(list) {
      return list.map((finding) => {
        const key = v2KeyOf(ocsfIdentity(finding));
        const held = v2Findings.get(key);
        const status = (value: Json | undefined) =>
          (value?.compliance as Json | undefined)?.status as string | undefined;
        const reopened = held !== undefined && status(held) === "Pass" && status(finding) === "Fail";
        const stored: Json =
          held === undefined || reopened
            ? structuredClone(finding)
            : {
                ...structuredClone(finding),
                status: held.status,
                status_id: held.status_id,
                ...(held.comment === undefined ? {} : { comment: held.comment }),
              };
        v2Findings.set(key, stored);
        return structuredClone(stored);
      });
    },
    findingV2: (accountUid, findingUid, productUid) =>
      structuredClone(
        v2Findings.get(
          v2KeyOf({
            CloudAccountUid: accountUid,
            FindingInfoUid: findingUid,
            MetadataProductUid: productUid,
          }),
        ),
      ),
    batchUpdateFindingsV2(input) {
      const identifiers = input.FindingIdentifiers;
      if (input.MetadataUids !== undefined && identifiers !== undefined)
        invalid("MetadataUids and FindingIdentifiers cannot be used together");
      if (!Array.isArray(identifiers) || identifiers.length === 0)
        invalid("FindingIdentifiers must hold at least one finding identifier");
      if (identifiers.length > MAX_IDENTIFIERS)
        invalid(
          `FindingIdentifiers holds ${identifiers.length} identifiers; at most ${MAX_IDENTIFIERS} are allowed`,
        );
      const comment = input.Comment;
      if (
        comment !== undefined &&
        (typeof comment !== "string" || comment.length < 1 || comment.length > NOTE_MAX)
      )
        invalid(`Comment must be a string of 1 to ${NOTE_MAX} characters`);
      const statusId = input.StatusId;
      if (statusId !== undefined && !(typeof statusId === "number" && OCSF_STATUSES[statusId] !== undefined))
        invalid(`StatusId must be one of ${Object.keys(OCSF_STATUSES).join(", ")}`);
      const unknown = Object.keys(input).find(
        (field) =>
          !["FindingIdentifiers", "MetadataUids", "Comment", "StatusId", "SeverityId"].includes(field),
      );
      if (unknown !== undefined) invalid(`Unknown field ${unknown}`);
      if (comment === undefined && statusId === undefined && input.SeverityId === undefined)
        invalid("Nothing to update");
      const processed: Json[] = [];
      const unprocessed: Json[] = [];
      for (const identifier of identifiers as Json[]) {
        for (const field of ["CloudAccountUid", "FindingInfoUid", "MetadataProductUid"])
          if (typeof identifier[field] !== "string" || identifier[field] === "")
            invalid(`Each finding identifier needs a ${field}`);
        const finding = v2Findings.get(v2KeyOf(identifier));
        if (finding === undefined) {
          unprocessed.push({
            FindingIdentifier: identifier,
            ErrorCode: "ResourceNotFoundException",
            ErrorMessage: "Finding not found",
          });
          continue;
        }
        if (typeof comment === "string") finding.comment = comment;
        if (typeof statusId === "number") {
          finding.status_id = statusId;
          finding.status = OCSF_STATUSES[statusId];
        }
        processed.push({
          FindingIdentifier: identifier,
          MetadataUid: (finding.metadata as Json | undefined)?.uid,
        });
      }
      updates.push(structuredClone(input));
      for (const entry of processed) {
        const finding = v2Findings.get(v2KeyOf(entry.FindingIdentifier as Json));
        if (finding !== undefined) onImported(importedEventV2(finding, clock()));
      }
      return { ProcessedFindings: processed, UnprocessedFindings: unprocessed };
    },
    updates,
    batchUpdateFindings(input) {
      const identifiers = input.FindingIdentifiers;
      if (!Array.isArray(identifiers) || identifiers.length === 0)
        invalid("FindingIdentifiers must hold at least one finding identifier");
      if (identifiers.length > MAX_IDENTIFIERS)
        invalid(
          `FindingIdentifiers holds ${identifiers.length} identifiers; at most ${MAX_IDENTIFIERS} are allowed`,
        );
      const note = input.Note as Json | undefined;
      if (note !== undefined) {
        for (const field of ["Text", "UpdatedBy"]) {
          const value = note[field];
          if (typeof value !== "string" || value.length < 1 || value.length > NOTE_MAX)
            invalid(`Note.${field} must be a string of 1 to ${NOTE_MAX} characters`);
        }
      }
      const workflow = (input.Workflow as Json | undefined)?.Status;
      if (
        input.Workflow !== undefined &&
        (typeof workflow !== "string" || !WORKFLOW_STATUSES.includes(workflow))
      )
        invalid(`Workflow.Status must be one of ${WORKFLOW_STATUSES.join(", ")}`);
      const known = new Set([
        "FindingIdentifiers",
        "Note",
        "Workflow",
        "Severity",
        "VerificationState",
        "Confidence",
        "Criticality",
        "Types",
        "UserDefinedFields",
        "RelatedFindings",
      ]);
      const unknown = Object.keys(input).find((field) => !known.has(field));
      if (unknown !== undefined) invalid(`Unknown field ${unknown}`);
      if (note === undefined && input.Workflow === undefined) invalid("Nothing to update");

      const processed: Json[] = [];
      const unprocessed: Json[] = [];
      const seen = new Set<string>();
      const now = new Date(clock()).toISOString();
      for (const identifier of identifiers as Json[]) {
        const id = identifier.Id;
        const productArn = identifier.ProductArn;
        if (typeof id !== "string" || id === "" || typeof productArn !== "string" || productArn === "")
          invalid("Each finding identifier needs an Id and a ProductArn");
        const key = keyOf(id, productArn);
        const reference = { Id: id, ProductArn: productArn };
        if (seen.has(key)) {
          unprocessed.push({
            FindingIdentifier: reference,
            ErrorCode: "DuplicatedFindingIdentifier",
            ErrorMessage: "Duplicated finding identifier",
          });
          continue;
        }
        seen.add(key);
        const finding = findings.get(key);
        if (finding === undefined) {
          unprocessed.push({
            FindingIdentifier: reference,
            ErrorCode: "FindingNotFound",
            ErrorMessage: "Finding not found",
          });
          continue;
        }
        if (note !== undefined) finding.Note = { Text: note.Text, UpdatedBy: note.UpdatedBy, UpdatedAt: now };
        if (typeof workflow === "string") finding.Workflow = { Status: workflow };
        processed.push(reference);
      }
      updates.push(structuredClone(input));
      for (const reference of processed) {
        const finding = findings.get(keyOf(String(reference.Id), String(reference.ProductArn)));
        if (finding !== undefined) onImported(importedEvent(finding, clock()));
      }
      return { ProcessedFindings: processed, UnprocessedFindings: unprocessed };
    },
  };
}

/** The event Security Hub emits after an update: the finding as it now is, in an Imported event. */
export const OCSF_STATUSES: Record<number, string> = {
  0: "Unknown",
  1: "New",
  2: "In Progress",
  3: "Suppressed",
  4: "Resolved",
  5: "Archived",
  99: "Other",
};

function ocsfIdentity(finding: Json): Json {
  const at = (...path: string[]) =>
    path.reduce<unknown>((value, key) => (value as Json | undefined)?.[key], finding);
  return {
    CloudAccountUid: at("cloud", "account", "uid"),
    FindingInfoUid: at("finding_info", "uid"),
    MetadataProductUid: at("metadata", "product", "uid"),
  };
}

function v2KeyOf(identifier: Json): string {
  return [identifier.CloudAccountUid, identifier.MetadataProductUid, identifier.FindingInfoUid]
    .map(String)
    .join("\n");
}

/** The new Security Hub's event after an update: the finding as it now is, its times unchanged. */
function importedEventV2(finding: Json, now: number): Json {
  const cloud = finding.cloud as Json | undefined;
  return {
    version: "0",
    id: `securityhub-update-${Math.random().toString(16).slice(2)}`,
    "detail-type": "Findings Imported V2",
    source: "aws.securityhub",
    account: (cloud?.account as Json | undefined)?.uid,
    time: new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: cloud?.region ?? "us-east-1",
    resources: [(finding.metadata as Json | undefined)?.uid],
    detail: { findings: [structuredClone(finding)] },
  };
}

function importedEvent(finding: Json, now: number): Json {
  return {
    version: "0",
    id: `securityhub-update-${Math.random().toString(16).slice(2)}`,
    "detail-type": "Security Hub Findings - Imported",
    source: "aws.securityhub",
    account: finding.AwsAccountId,
    time: new Date(now).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: finding.Region ?? "us-east-1",
    resources: [finding.ProductArn],
    detail: { findings: [structuredClone(finding)] },
  };
}

export interface SecurityHubStandIn extends SecurityHubService {
  endpoint: string;
  /** The Imported events Security Hub emitted after updates, oldest first; take them with drain(). */
  drainEvents(): Json[];
  /** Makes the next `times` calls fail with `error`. */
  failNext(error: AwsError, times?: number): void;
  clearFailures(): void;
  close(): Promise<void>;
}

/** Security Hub's REST API on 127.0.0.1, for @aws-sdk/client-securityhub pointed at it. */
export async function startSecurityHubStandIn(clock: () => number = Date.now): Promise<SecurityHubStandIn> {
  const events: Json[] = [];
  const service = createSecurityHubService((event) => events.push(event), clock);
  const failures: AwsError[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const fail = (error: AwsError) =>
        send(response, error.status, JSON.stringify({ message: error.message }), {
          "x-amzn-errortype": error.type,
        });
      const unsigned = unsignedRequestError(request);
      if (unsigned !== undefined) {
        fail(unsigned);
        return;
      }
      const operation =
        request.method !== "PATCH"
          ? undefined
          : request.url === "/findings/batchupdate"
            ? service.batchUpdateFindings
            : request.url === "/findingsv2/batchupdatev2"
              ? service.batchUpdateFindingsV2
              : undefined;
      if (operation === undefined) {
        fail(
          new AwsError(
            "UnknownOperationException",
            `Unknown operation ${request.method} ${request.url}`,
            404,
          ),
        );
        return;
      }
      const failure = failures.shift();
      if (failure !== undefined) {
        fail(failure);
        return;
      }
      try {
        send(response, 200, JSON.stringify(operation(JSON.parse(body) as Json)));
      } catch (error) {
        fail(error instanceof AwsError ? error : new AwsError("InternalException", String(error), 500));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    ...service,
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    drainEvents: () => events.splice(0),
    failNext(error, times = 1) {
      for (let count = 0; count < times; count += 1) failures.push(error);
    },
    clearFailures() {
      failures.splice(0);
    },
    close: () => closeServer(server),
  };
}
