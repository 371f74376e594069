import assert from "assert/strict";
import {
  describeSupportHours,
  insideSupportHours,
  routeUrgency,
  severityFor,
  urgencyOf,
  type SupportHours,
  type UrgencyPolicy,
} from "../handler/finding/urgency";

const BERLIN: SupportHours = {
  timeZone: "Europe/Berlin",
  days: [1, 2, 3, 4, 5],
  startMinute: 540,
  endMinute: 1020,
};
const POLICY: UrgencyPolicy = {
  supportHours: BERLIN,
  urgentAtAnyHour: ["CRITICAL"],
  backlogUntil: undefined,
};
// Tuesday 1 December 2026 (CET, UTC+1) and Tuesday 7 July 2026 (CEST, UTC+2).
const TUESDAY_3AM = Date.parse("2026-12-01T02:00:00Z");
const TUESDAY_NOON = Date.parse("2026-12-01T11:00:00Z");
const SATURDAY_NOON = Date.parse("2026-12-05T11:00:00Z");
const FINDING = { byHand: false, regression: false };

describe("urgency by the clock", () => {
  it("wakes no one for a HIGH finding at 3 a.m. and pages it at noon", () => {
    const night = urgencyOf({ ...FINDING, label: "HIGH" }, TUESDAY_3AM, POLICY);
    assert.deepEqual(night, {
      urgency: "low",
      why: "outside support hours (Mon-Fri 09:00-17:00 Europe/Berlin)",
    });
    assert.equal(severityFor("HIGH", night.urgency), "warning");
    const noon = urgencyOf({ ...FINDING, label: "HIGH" }, TUESDAY_NOON, POLICY);
    assert.equal(noon.urgency, "high");
    assert.equal(severityFor("HIGH", noon.urgency), "error");
  });

  it("pages CRITICAL at any hour and any day; other severities inside the hours only, weekends excluded", () => {
    for (const at of [TUESDAY_3AM, SATURDAY_NOON])
      assert.equal(urgencyOf({ ...FINDING, label: "CRITICAL" }, at, POLICY).urgency, "high");
    assert.equal(urgencyOf({ ...FINDING, label: "MEDIUM" }, TUESDAY_NOON, POLICY).urgency, "high");
    assert.equal(urgencyOf({ ...FINDING, label: "HIGH" }, SATURDAY_NOON, POLICY).urgency, "low");
    const wider = { ...POLICY, urgentAtAnyHour: ["CRITICAL" as const, "HIGH" as const] };
    assert.equal(urgencyOf({ ...FINDING, label: "HIGH" }, TUESDAY_3AM, wider).urgency, "high");
  });

  it("reads the hours in their own time zone, summer time included, start inclusive and end exclusive", () => {
    assert.equal(insideSupportHours(BERLIN, Date.parse("2026-07-07T07:00:00Z")), true); // 09:00 CEST
    assert.equal(insideSupportHours(BERLIN, Date.parse("2026-07-07T06:59:00Z")), false);
    assert.equal(insideSupportHours(BERLIN, Date.parse("2026-12-01T16:00:00Z")), false); // 17:00 CET
    assert.equal(insideSupportHours(BERLIN, Date.parse("2026-12-01T15:59:00Z")), true);
    assert.equal(
      describeSupportHours({ ...BERLIN, days: [1, 3, 5] }),
      "Mon,Wed,Fri 09:00-17:00 Europe/Berlin",
    );
  });

  it("takes the first deploy's backlog in at low urgency, even CRITICAL at noon, but not a regression or a page by hand", () => {
    const policy = { ...POLICY, backlogUntil: TUESDAY_NOON + 3600_000 };
    const backlog = urgencyOf({ ...FINDING, label: "CRITICAL" }, TUESDAY_NOON, policy);
    assert.equal(backlog.urgency, "low");
    assert.match(backlog.why, /^backlog: opened before 2026-12-01T12:00:00.000Z/);
    assert.equal(severityFor("CRITICAL", backlog.urgency), "warning");
    assert.equal(
      urgencyOf({ ...FINDING, regression: true, label: "HIGH" }, TUESDAY_NOON, policy).urgency,
      "high",
    );
    assert.equal(urgencyOf({ ...FINDING, byHand: true, label: "LOW" }, TUESDAY_3AM, policy).urgency, "high");
    // After the window, new failures page as any other.
    assert.equal(urgencyOf({ ...FINDING, label: "HIGH" }, TUESDAY_NOON + 7200_000, policy).urgency, "high");
  });

  it("decides a route's alerts with the route's own hours: noon in Berlin is 6 a.m. in New York", () => {
    const newYork = routeUrgency(POLICY, { ...BERLIN, timeZone: "America/New_York" });
    assert.equal(urgencyOf({ ...FINDING, label: "HIGH" }, TUESDAY_NOON, POLICY).urgency, "high");
    assert.equal(
      newYork === undefined
        ? undefined
        : urgencyOf({ ...FINDING, label: "HIGH" }, TUESDAY_NOON, newYork).urgency,
      "low",
    );
    assert.equal(routeUrgency(POLICY, undefined), POLICY, "without hours of its own, the stack's");
    assert.equal(routeUrgency(POLICY, null)?.supportHours, undefined, "always: no hours");
    assert.equal(routeUrgency(undefined, BERLIN), undefined, "no policy: the event's severity decides");
  });

  it("without support hours is PagerDuty's severity-based rule: CRITICAL and HIGH high, the rest low", () => {
    const always = { ...POLICY, supportHours: undefined };
    assert.deepEqual(
      (["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"] as const).map((label) =>
        severityFor(label, urgencyOf({ ...FINDING, label }, TUESDAY_3AM, always).urgency),
      ),
      ["critical", "error", "warning", "warning", "info"],
    );
  });
});
