import {
  BatchUpdateFindingsCommand,
  BatchUpdateFindingsV2Command,
  type SecurityHubClient,
} from "@aws-sdk/client-securityhub";
import type { Finding } from "../finding/model";
import type { FindingIdentity } from "../state/alerts";
import { UPDATED_BY } from "./notes";

// Security Hub's write APIs, the edge the write-back and the webhook use: BatchUpdateFindings for ASFF findings
// (by Id and ProductArn: a note and a workflow status), BatchUpdateFindingsV2 for the new Security Hub's OCSF
// findings (by account, finding_info.uid and product uid: a comment and a status_id). One call updates up to 100
// findings with the same change; findings Security Hub could not update come back by name.

export type FindingRef =
  | { format: "asff"; id: string; productArn: string }
  | { format: "ocsf"; accountUid: string; findingUid: string; productUid: string };

export interface FindingUpdate {
  findings: FindingRef[];
  /** Set only when asked: a person's RESOLVED or SUPPRESSED is never overwritten blindly. */
  workflow?: "NOTIFIED" | "RESOLVED";
  note: string;
}

export interface UpdateOutcome {
  updated: FindingRef[];
  failed: { finding: FindingRef; code: string; message: string }[];
}

/** Applies one update; throws the service's error (its name is the code) when a call itself fails. */
export type FindingUpdater = (update: FindingUpdate) => Promise<UpdateOutcome>;

export const MAX_FINDINGS_PER_CALL = 100;

/**
 * A finding's identity as the alert state keeps it: ASFF by Id and ProductArn; OCSF by what BatchUpdateFindingsV2
 * names it with (finding_info.uid, metadata.product.uid, cloud.account.uid), without which it cannot be updated.
 */
export function identityOf(finding: Finding): FindingIdentity {
  if (finding.format === "ocsf") {
    const names = finding.ocsf;
    return {
      id: finding.id,
      format: "ocsf",
      ...(names === undefined ? {} : { productArn: names.productUid, account: names.accountUid }),
    };
  }
  return {
    id: finding.id,
    format: "asff",
    ...(finding.productArn === undefined ? {} : { productArn: finding.productArn }),
  };
}

/** How a finding's identity, as the alert state keeps it, names it to Security Hub; undefined when it cannot. */
export function refOf(identity: FindingIdentity | undefined): FindingRef | undefined {
  if (identity?.productArn === undefined) return undefined;
  if (identity.format !== "ocsf") return { format: "asff", id: identity.id, productArn: identity.productArn };
  if (identity.account === undefined) return undefined;
  return {
    format: "ocsf",
    accountUid: identity.account,
    findingUid: identity.id,
    productUid: identity.productArn,
  };
}

/** The finding's id, as log lines name it. */
export function findingIdOf(ref: FindingRef): string {
  return ref.format === "asff" ? ref.id : ref.findingUid;
}

export function refKey(ref: FindingRef): string {
  return ref.format === "asff"
    ? `asff\n${ref.productArn}\n${ref.id}`
    : `ocsf\n${ref.accountUid}\n${ref.productUid}\n${ref.findingUid}`;
}

// OCSF status_id for the workflow statuses the sync sets: In Progress, Resolved.
const STATUS_IDS = { NOTIFIED: 2, RESOLVED: 4 } as const;

export function createSecurityHubUpdater(client: SecurityHubClient): FindingUpdater {
  return async (update) => {
    const asff = update.findings.filter((ref) => ref.format === "asff");
    const ocsf = update.findings.filter((ref) => ref.format === "ocsf");
    const outcome: UpdateOutcome = { updated: [], failed: [] };
    if (asff.length > 0) {
      const output = await client.send(
        new BatchUpdateFindingsCommand({
          FindingIdentifiers: asff.map((ref) => ({ Id: ref.id, ProductArn: ref.productArn })),
          Note: { Text: update.note, UpdatedBy: UPDATED_BY },
          ...(update.workflow === undefined ? {} : { Workflow: { Status: update.workflow } }),
        }),
      );
      const asffRef = (id?: string, productArn?: string): FindingRef => ({
        format: "asff",
        id: id ?? "",
        productArn: productArn ?? "",
      });
      outcome.updated.push(
        ...(output.ProcessedFindings ?? []).map((entry) => asffRef(entry.Id, entry.ProductArn)),
      );
      outcome.failed.push(
        ...(output.UnprocessedFindings ?? []).map((entry) => ({
          finding: asffRef(entry.FindingIdentifier?.Id, entry.FindingIdentifier?.ProductArn),
          code: entry.ErrorCode ?? "Unknown",
          message: entry.ErrorMessage ?? "",
        })),
      );
    }
    if (ocsf.length > 0) {
      const output = await client.send(
        new BatchUpdateFindingsV2Command({
          FindingIdentifiers: ocsf.map((ref) => ({
            CloudAccountUid: ref.accountUid,
            FindingInfoUid: ref.findingUid,
            MetadataProductUid: ref.productUid,
          })),
          // The new Security Hub's comment has no author field: the note names the project instead.
          Comment: `[${UPDATED_BY}] ${update.note}`.slice(0, 512),
          ...(update.workflow === undefined ? {} : { StatusId: STATUS_IDS[update.workflow] }),
        }),
      );
      const ocsfRef = (identifier?: {
        CloudAccountUid?: string;
        FindingInfoUid?: string;
        MetadataProductUid?: string;
      }): FindingRef => ({
        format: "ocsf",
        accountUid: identifier?.CloudAccountUid ?? "",
        findingUid: identifier?.FindingInfoUid ?? "",
        productUid: identifier?.MetadataProductUid ?? "",
      });
      outcome.updated.push(
        ...(output.ProcessedFindings ?? []).map((entry) => ocsfRef(entry.FindingIdentifier)),
      );
      outcome.failed.push(
        ...(output.UnprocessedFindings ?? []).map((entry) => ({
          finding: ocsfRef(entry.FindingIdentifier),
          code: entry.ErrorCode ?? "Unknown",
          message: entry.ErrorMessage ?? "",
        })),
      );
    }
    return outcome;
  };
}
