import { findingsIn, readJsonInput } from "../cli";
import type { OrganizationsTree } from "../../standins/organizations";
import { electricEyeFinding, importedEvent, passedReimport } from "../simulation/findings";
import type { CustomAction } from "../../config";

// What the walk-through replays: Security Hub events, and (with the two-way sync) what responders do in PagerDuty.

export type Step =
  /** An event imported into Security Hub; `at` moves the walk to that moment first. */
  | {
      kind: "event";
      label: string;
      event: Record<string, unknown>;
      at?: number;
      /** AWS Organizations refuses every call while this event is processed. */
      organizationsDenied?: boolean;
    }
  /** A responder acts on the alert of a finding in PagerDuty; PagerDuty delivers the webhook, signed. */
  | { kind: "responder"; label: string; findingId: string; action: "acknowledge" | "resolve" }
  /** Someone else posts a webhook with a signature PagerDuty did not make. */
  | { kind: "forged"; label: string; findingId: string };

const ACCOUNT = "111122223333";
export const RESPONDER = { id: "PJDOE01", name: "Jo Doe" };

/**
 * The built-in walk-through: what a security engineer sees in a first ElectricEye scan and its follow-ups, and,
 * with the two-way sync, what on-call does in PagerDuty and what comes back to Security Hub.
 */
export function walkThrough(customAction: CustomAction | undefined, start: number, night?: number): Step[] {
  const critical = electricEyeFinding("s3-public-policy-critical", "payroll-exports", ACCOUNT);
  const several = electricEyeFinding("s3-encryption-high", "billing-archive", ACCOUNT);
  several.Resources = ["billing-archive", "billing-archive-replica", "billing-archive-logs"].map(
    (bucket) => ({
      Type: "AwsS3Bucket",
      Id: `arn:aws:s3:::${bucket}`,
      Partition: "aws",
      Region: "us-east-1",
    }),
  );
  const medium = {
    ...electricEyeFinding("s3-encryption-high", "marketing-assets", ACCOUNT),
    Id: "arn:aws:s3:::marketing-assets/s3-bucket-lifecycle-configuration-check",
    Title: "[S3.13] Amazon S3 buckets should have a lifecycle policy",
    Severity: { Label: "MEDIUM" },
  };
  const passing = electricEyeFinding("s3-encryption-high", "static-website", ACCOUNT);
  const later = (finding: Record<string, unknown>, time: string) => ({
    ...finding,
    UpdatedAt: time,
    LastObservedAt: time,
  });
  // Imported from the walk's start on: the import-to-page time the functions measure is then a real one.
  const at = (minutes: number) => new Date(start + minutes * 60_000);
  const event = (label: string, finding: Record<string, unknown>, minutes: number): Step => ({
    kind: "event",
    label,
    event: importedEvent([finding], at(minutes)),
  });
  const scan = [
    event("a CRITICAL finding: a public bucket policy", critical, 0),
    event("a HIGH finding on three buckets", several, 1),
    event("a MEDIUM finding", medium, 2),
    event(
      "a passed check, re-imported as ElectricEye does on every scan",
      later(passedReimport(passing), "2026-01-05T09:03:00.000Z"),
      3,
    ),
    event(
      "the CRITICAL finding again, re-imported by the next scan",
      later(critical, "2026-01-05T21:00:00.000Z"),
      720,
    ),
  ];
  const fixed = event(
    "its PASSED update, after the bucket policy was fixed",
    later(passedReimport(critical), "2026-01-06T09:00:00.000Z"),
    1440,
  );
  if (customAction === undefined) return [...scan, fixed];
  const byHand: Step = {
    kind: "event",
    label: `a person selects the MEDIUM finding in Security Hub and chooses "${customAction.name}"`,
    event: {
      ...importedEvent([medium], at(725)),
      "detail-type": "Security Hub Findings - Custom Action",
      resources: [`arn:aws:securityhub:us-east-1:${ACCOUNT}:action/custom/${customAction.identifier}`],
      detail: {
        actionName: customAction.name,
        actionDescription: "Page on-call through PagerDuty",
        findings: [medium],
      },
    },
  };
  const atNight: Step[] =
    night === undefined
      ? []
      : [
          {
            kind: "event",
            label: "at night, outside support hours: a new HIGH finding on another bucket",
            event: importedEvent(
              [electricEyeFinding("s3-encryption-high", "night-uploads", ACCOUNT)],
              new Date(night),
            ),
            at: night,
          },
        ];
  // Imported a minute before the walk, when the first deploy's backlog window closes.
  const backlog = event(
    "the first deploy's backlog: a HIGH finding the first scan imported before the window closed",
    electricEyeFinding("s3-encryption-high", "legacy-exports", ACCOUNT),
    -1,
  );
  return [
    backlog,
    ...scan,
    {
      kind: "responder",
      label: "on-call acknowledges the CRITICAL alert in PagerDuty",
      findingId: String(critical.Id),
      action: "acknowledge",
    },
    {
      kind: "forged",
      label: "someone posts a webhook PagerDuty did not sign",
      findingId: String(critical.Id),
    },
    {
      kind: "responder",
      label: "on-call resolves the HIGH alert in PagerDuty (risk accepted)",
      findingId: String(several.Id),
      action: "resolve",
    },
    event(
      "the HIGH finding again, still failing, re-imported by the next scan",
      later(several, "2026-01-05T21:01:00.000Z"),
      721,
    ),
    byHand,
    fixed,
    ...atNight,
  ];
}

/**
 * With alertPer: control: one control (S3.1, bucket encryption) failing on three buckets of one account, imported in
 * one scan, pages once; two of them fixed by the next scan change nothing in PagerDuty; the last fixed resolves it.
 */
export function groupWalkThrough(start: number): Step[] {
  const buckets = ["billing-archive", "billing-logs", "billing-replica"];
  const at = (minutes: number) => new Date(start + minutes * 60_000);
  const failing = buckets.map((bucket) => electricEyeFinding("s3-encryption-high", bucket, ACCOUNT));
  const fixed = (finding: Record<string, unknown>, minutes: number) => {
    const time = at(minutes).toISOString();
    return passedReimport({ ...finding, UpdatedAt: time, LastObservedAt: time });
  };
  const [first, second, last] = failing as [
    Record<string, unknown>,
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  return [
    {
      kind: "event",
      label: "a scan: control S3.1 (bucket encryption) fails on three buckets of one account",
      event: importedEvent(failing, at(0)),
    },
    {
      kind: "event",
      label: "the next scan: two of the buckets are encrypted now, the third still fails",
      event: importedEvent([fixed(first, 60), fixed(second, 60)], at(60)),
    },
    {
      kind: "event",
      label: "the scan after: the last bucket is encrypted",
      event: importedEvent([fixed(last, 120)], at(120)),
    },
  ];
}

/** Steps from a user's file: events as they are, bare findings each in its own Imported event. */
export function stepsFromFile(path: string): Step[] {
  const document = readJsonInput(path);
  const events = Array.isArray(document) ? document : [document];
  if (events.every((event) => typeof event === "object" && event !== null && "detail-type" in event)) {
    return events.map((event, index) => ({
      kind: "event",
      label: `event ${index + 1} of ${path}`,
      event: event as Record<string, unknown>,
    }));
  }
  return findingsIn(document, path).findings.map(({ finding, origin }) => ({
    kind: "event",
    label: `${origin} of ${path}`,
    event: importedEvent([finding]),
  }));
}

// The organization of the org walk-through: accounts as Pulumi.org.yaml's routes know them.
const TEAM_ACCOUNTS = {
  payments: "210987654321",
  platform: "111122223333",
  untagged: "333344445555",
  newcomer: "666677778888",
  ownStack: "999988887777",
};

/**
 * The walk-through of a stack with routes (Pulumi.org.yaml's): findings of three teams' accounts paging their
 * three services, a finding whose route changes when its bucket is tagged, a lookup AWS Organizations refuses, and
 * an account with a stack of its own.
 */
export function orgWalkThrough(start: number): { steps: Step[]; organization: OrganizationsTree } {
  const organization: OrganizationsTree = {
    rootId: "r-ab12",
    units: { "ou-ab12-workload01": { name: "Workloads", parent: "r-ab12" } },
    accounts: {
      [TEAM_ACCOUNTS.payments]: { tags: { team: "payments" }, parent: "ou-ab12-workload01" },
      [TEAM_ACCOUNTS.platform]: { tags: {}, parent: "ou-ab12-workload01" },
      [TEAM_ACCOUNTS.untagged]: { tags: {}, parent: "ou-ab12-workload01" },
      [TEAM_ACCOUNTS.newcomer]: { tags: { team: "payments" }, parent: "r-ab12" },
      [TEAM_ACCOUNTS.ownStack]: { tags: {}, parent: "r-ab12" },
    },
  };
  const event = (
    label: string,
    finding: Record<string, unknown>,
    minutes: number,
  ): Extract<Step, { kind: "event" }> => ({
    kind: "event",
    label,
    event: importedEvent([{ ...finding, Workflow: { Status: "NEW" } }], new Date(start + minutes * 60_000)),
  });
  const lake = electricEyeFinding("s3-encryption-high", "analytics-lake", TEAM_ACCOUNTS.untagged);
  const taggedLake = {
    ...lake,
    UpdatedAt: "2026-01-05T21:00:00.000Z",
    Resources: (lake.Resources as Record<string, unknown>[]).map((resource) => ({
      ...resource,
      Tags: { owner: "data" },
    })),
  };
  const ownedByData = electricEyeFinding("s3-public-policy-critical", "ml-features", TEAM_ACCOUNTS.untagged);
  ownedByData.Resources = (ownedByData.Resources as Record<string, unknown>[]).map((resource) => ({
    ...resource,
    Tags: { owner: "data" },
  }));
  return {
    organization,
    steps: [
      event(
        `a CRITICAL finding in account ${TEAM_ACCOUNTS.payments}, tagged team=payments in AWS Organizations`,
        electricEyeFinding("s3-public-policy-critical", "card-exports", TEAM_ACCOUNTS.payments),
        0,
      ),
      event(
        `a CRITICAL finding in account ${TEAM_ACCOUNTS.platform}, one of the platform route's accounts`,
        electricEyeFinding("s3-public-policy-critical", "build-cache", TEAM_ACCOUNTS.platform),
        1,
      ),
      event(
        `a CRITICAL finding on a bucket tagged owner=data, in untagged account ${TEAM_ACCOUNTS.untagged}`,
        ownedByData,
        2,
      ),
      event("a HIGH finding on an untagged bucket of the same account: no route matches", lake, 3),
      event("its re-import, after the data team tagged the bucket owner=data", taggedLake, 720),
      {
        ...event(
          `a CRITICAL finding in account ${TEAM_ACCOUNTS.newcomer} while AWS Organizations refuses the lookup`,
          electricEyeFinding("s3-public-policy-critical", "new-ledger", TEAM_ACCOUNTS.newcomer),
          721,
        ),
        organizationsDenied: true,
      },
      event(
        `a CRITICAL finding in account ${TEAM_ACCOUNTS.ownStack}, which has a stack of its own (excludeAccounts)`,
        electricEyeFinding("s3-public-policy-critical", "tooling", TEAM_ACCOUNTS.ownStack),
        722,
      ),
    ],
  };
}
