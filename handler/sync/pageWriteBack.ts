import type { Routed } from "../finding/route";
import type { Clock } from "../clock";
import type { Logger } from "../telemetry/log";
import type { Notice } from "../state/alerts";
import { earlierResolutionNote, pageAgainNote, pagedNote } from "./notes";
import { identityOf, refOf } from "./securityHub";
import { createWriteBackBatch, type SecurityHubWriter } from "./writeBack";

// After a finding opens an alert, Security Hub is told: a note saying that it paged, on which service and when,
// and Workflow NOTIFIED when it is still NEW (a person's RESOLVED or SUPPRESSED is never touched). The pages of
// one invocation are written together, in as few calls as their notes allow.

/**
 * What a write-back says instead of the page's own note: the note of the incident the finding's group has already
 * (a member joining after a webhook named it), or a notice of an open alert (Workflow NOTIFIED over the stack's own
 * RESOLVED; see Notice).
 */
export type WriteBackNote = { joined: string } | Notice;

export interface PageWriteBack {
  /**
   * The finding paged `service` (its route's PagerDuty service, as the note names it); `told`, when there is more
   * to say than the page's own note.
   */
  add(routed: Extract<Routed, { kind: "send" }>, service: string, told?: WriteBackNote): void;
  flush(deadline: number): Promise<void>;
}

export function createPageWriteBack(options: {
  write: SecurityHubWriter;
  clock: Clock;
  log: Logger;
}): PageWriteBack {
  const batch = createWriteBackBatch(options.write);
  // One time per invocation, so that its pages share a note and a call.
  let pagedAt: number | undefined;
  return {
    add({ finding, byHand }, service, told) {
      const ref = refOf(identityOf(finding));
      if (ref === undefined) {
        options.log.warn("Security Hub not updated", {
          findings: [finding.id],
          reason: "the finding does not say its product (and, in OCSF, its account)",
        });
        return;
      }
      if (told !== undefined && !("joined" in told)) {
        const note =
          "pageAgain" in told ? pageAgainNote(service, told.pageAgain) : earlierResolutionNote(service);
        batch.add(ref, { note, workflow: "NOTIFIED" });
        return;
      }
      pagedAt ??= options.clock.now();
      batch.add(ref, {
        note: told?.joined ?? pagedNote(service, pagedAt, byHand !== undefined),
        ...(finding.workflow === "NEW" ? { workflow: "NOTIFIED" as const } : {}),
      });
    },
    async flush(deadline) {
      pagedAt = undefined;
      await batch.flush(deadline);
    },
  };
}
