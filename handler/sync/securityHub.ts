import { BatchUpdateFindingsCommand, type SecurityHubClient } from "@aws-sdk/client-securityhub";
import { UPDATED_BY } from "./notes";

// Security Hub's BatchUpdateFindings, the edge the write-back and the webhook use. One call updates up to 100
// findings with the same workflow status and note; findings Security Hub could not update come back by name.

export interface FindingRef {
  id: string;
  productArn: string;
}

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

/** Applies one update; throws the service's error (its name is the code) when the call itself fails. */
export type FindingUpdater = (update: FindingUpdate) => Promise<UpdateOutcome>;

export const MAX_FINDINGS_PER_CALL = 100;

export function createSecurityHubUpdater(client: SecurityHubClient): FindingUpdater {
  return async (update) => {
    const output = await client.send(
      new BatchUpdateFindingsCommand({
        FindingIdentifiers: update.findings.map((finding) => ({
          Id: finding.id,
          ProductArn: finding.productArn,
        })),
        Note: { Text: update.note, UpdatedBy: UPDATED_BY },
        ...(update.workflow === undefined ? {} : { Workflow: { Status: update.workflow } }),
      }),
    );
    return {
      updated: (output.ProcessedFindings ?? []).map((finding) => ({
        id: finding.Id ?? "",
        productArn: finding.ProductArn ?? "",
      })),
      failed: (output.UnprocessedFindings ?? []).map((entry) => ({
        finding: {
          id: entry.FindingIdentifier?.Id ?? "",
          productArn: entry.FindingIdentifier?.ProductArn ?? "",
        },
        code: entry.ErrorCode ?? "Unknown",
        message: entry.ErrorMessage ?? "",
      })),
    };
  };
}
