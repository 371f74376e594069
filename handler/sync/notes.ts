import { cut } from "../finding/text";

// What the function writes into a Security Hub finding: a short note (Security Hub keeps one per finding, at most
// 512 characters) saying who was paged or what a responder did, with a link to the incident.

/** Security Hub's Note.UpdatedBy for every note this project writes. */
export const UPDATED_BY = "electriceye-pagerduty";
export const NOTE_MAX_CHARS = 512;

function note(text: string): string {
  return cut(text.replace(/\s+/g, " ").trim(), NOTE_MAX_CHARS);
}

export function pagedNote(service: string, at: number, byHand: boolean): string {
  const how = byHand ? "Paged on-call by hand (Security Hub custom action)" : "Paged on-call";
  return note(`${how} through PagerDuty service "${service}" at ${new Date(at).toISOString()}.`);
}

/** The finding passed at `passedAt` and fails again since: a responder's resolution in PagerDuty no longer holds it. */
export function pageAgainNote(service: string, passedAt: number): string {
  return note(
    `Paging on-call again through PagerDuty service "${service}": the finding passed at ${new Date(passedAt).toISOString()} and fails again since; the resolution in PagerDuty does not hold it.`,
  );
}

export interface Incident {
  number?: number;
  url?: string;
}

function incidentText(incident: Incident): string {
  const name =
    incident.number === undefined ? "PagerDuty incident" : `PagerDuty incident #${incident.number}`;
  return incident.url === undefined ? name : `${name}: ${incident.url}`;
}

export function triggeredNote(incident: Incident): string {
  return note(`${incidentText(incident)} opened for this finding.`);
}

/** A note of a group's incident (alertPer: control), as each member reads it. */
export function groupNote(text: string, control: string, failing: number): string {
  const tail = ` (one incident for control ${control} in this account, ${failing} failing now).`;
  const words = text.replace(/( for this finding)?\.$/, "");
  return note(`${cut(words, NOTE_MAX_CHARS - tail.length)}${tail}`);
}

export function acknowledgedNote(who: string, incident: Incident): string {
  return note(`Acknowledged in PagerDuty by ${who}, ${incidentText(incident)}.`);
}

export function resolvedNote(who: string, incident: Incident): string {
  return note(
    `Resolved in PagerDuty by ${who}, ${incidentText(incident)}. It pages again if the finding fails after passing.`,
  );
}

/** A responder resolved an incident while the finding was not failing; it fails since, and is paged in a new one. */
export function heldNothingNote(who: string, incident: Incident): string {
  return note(
    `Paged on-call again: the finding was not failing when ${who} resolved ${incidentText(incident)}, and fails since; that resolution does not hold it, and a new incident is open for it in PagerDuty.`,
  );
}

/**
 * Security Hub showed Workflow RESOLVED with a note of the stack's on a finding whose alert opened after a
 * responder's resolution of an earlier incident: taken for that resolution's RESOLVED, written late.
 */
export function earlierResolutionNote(service: string): string {
  return note(
    `Paged on-call through PagerDuty service "${service}": the finding fails again after a responder's resolution of an earlier incident in PagerDuty, whose RESOLVED was shown here; its alert is open. To close it, resolve it in PagerDuty or set a workflow here with a note of your own.`,
  );
}

export function reopenedNote(who: string, incident: Incident): string {
  return note(`Reopened in PagerDuty by ${who}, ${incidentText(incident)}.`);
}

export function annotatedNote(who: string, content: string, incident: Incident): string {
  // The link is kept whole; the responder's words are cut to fit beside it.
  const tail = ` (${incidentText(incident)})`;
  const words = `PagerDuty note by ${who}: ${content}`.replace(/\s+/g, " ").trim();
  return note(`${cut(words, NOTE_MAX_CHARS - tail.length)}${tail}`);
}
