import assert from "assert/strict";
import { expectedAlerts, runEstate, wrongAtEnd } from "../tools/simulation/estateRun";
import {
  UNOWNED,
  churn,
  createEstate,
  createOrganization,
  ownerOf,
  type EstateEntry,
} from "../tools/simulation/organization";
import {
  organizationRoutes,
  runOrganization,
  scanUrgency,
  teamReports,
  urgencyReport,
} from "../tools/simulation/orgScenario";

// The organization benchmark's ground truth (who owns a finding, what should page) and its accounting (what it
// calls lost or misrouted), on organizations small enough to check by hand.

const SHAPE = { accounts: 40, findingsPerAccount: 300, teams: 4, seed: 3 };

describe("the organization benchmark's ground truth", () => {
  const organization = createOrganization(SHAPE);
  const estate = createEstate(organization, SHAPE);

  it("tags accounts with their team, leaves a few untagged, and gives a few resources another team as owner", () => {
    const untagged = organization.accounts.filter((account) => account.team === undefined);
    assert.equal(untagged.length, 2, "every twentieth account");
    assert.ok(
      organization.accounts.every(
        (account) => account.team === undefined || organization.teams.includes(account.team),
      ),
    );
    assert.equal(new Set(organization.accounts.map((account) => account.id)).size, SHAPE.accounts);
    const owned = estate.filter((entry) => entry.owner !== undefined);
    assert.ok(owned.length > 100 && owned.length < 400, `${owned.length} resources carry an owner tag`);
    for (const entry of owned) {
      assert.notEqual(
        entry.owner,
        organization.accounts[entry.account]?.team,
        "the owner tag names another team",
      );
      assert.equal(
        ownerOf(organization, entry),
        entry.owner,
        "the resource's owner wins over its account's team",
      );
    }
    const plain = estate.find(
      (entry) => entry.owner === undefined && organization.accounts[entry.account]?.team !== undefined,
    );
    assert.equal(
      ownerOf(organization, plain as EstateEntry),
      organization.accounts[plain?.account ?? 0]?.team,
    );
    const stray = estate.find(
      (entry) => entry.owner === undefined && organization.accounts[entry.account]?.team === undefined,
    );
    assert.equal(ownerOf(organization, stray as EstateEntry), UNOWNED);
  });

  it("draws about 90% passed, 8% LOW or MEDIUM, 2% HIGH and a few CRITICAL, from about a thousand controls, a few failing on many resources", () => {
    const share = (want: (entry: EstateEntry) => boolean) => estate.filter(want).length / estate.length;
    assert.ok(Math.abs(share((entry) => !entry.failing) - 0.9) < 0.02);
    assert.ok(
      Math.abs(
        share((entry) => entry.failing && (entry.severity === "LOW" || entry.severity === "MEDIUM")) - 0.08,
      ) < 0.015,
    );
    assert.ok(Math.abs(share((entry) => entry.failing && entry.severity === "HIGH") - 0.019) < 0.008);
    assert.ok(share((entry) => entry.failing && entry.severity === "CRITICAL") > 0);
    assert.equal(organization.controls.length, 1000);
    const failuresByControl = new Map<number, number>();
    for (const entry of estate.filter((candidate) => candidate.failing))
      failuresByControl.set(entry.control, (failuresByControl.get(entry.control) ?? 0) + 1);
    const counts = [...failuresByControl.values()].sort((a, b) => b - a);
    const failing = counts.reduce((sum, count) => sum + count, 0);
    assert.ok(
      counts.slice(0, 5).reduce((sum, count) => sum + count, 0) / failing > 0.3,
      "the top five controls hold a third of the failures",
    );
    assert.ok(
      counts.filter((count) => count <= 2).length > counts.length / 2,
      "most failing controls fail on one or two resources",
    );
  });

  it("churns about 1% between scans and adds new HIGH and CRITICAL findings in the middle of a rescan", () => {
    const copy = estate.map((entry) => ({ ...entry }));
    let serial = 10_000;
    let draws = 0;
    const random = () => ((draws += 1) * 0.6180339887) % 1;
    churn(copy, 2, random, ["HIGH", "CRITICAL"], () => ({
      account: 0,
      control: 0,
      resource: (serial += 1),
      region: "us-east-1",
    }));
    const changed = copy
      .slice(0, estate.length)
      .filter(
        (entry, index) =>
          entry.failing !== estate[index]?.failing || entry.severity !== estate[index]?.severity,
      );
    assert.ok(changed.length > 0 && changed.length <= estate.length * 0.01);
    const middle = copy.filter((entry) => entry.midScan === true);
    assert.equal(middle.length, Math.round(estate.length / 2000));
    assert.ok(
      middle.every(
        (entry) =>
          entry.failing &&
          (entry.severity === "HIGH" || entry.severity === "CRITICAL") &&
          entry.newInScan === 2,
      ),
    );
  });
});

describe("the organization benchmark's expected alerts, walked in import order", () => {
  // Three buckets failing one control in one account: one group. Keys are the bucket and the control.
  const bucket = (resource: number): EstateEntry => ({
    account: 0,
    control: 7,
    resource,
    region: "us-east-1",
    failing: true,
    severity: "HIGH",
  });
  const expectation = () =>
    expectedAlerts({
      pages: (entry) => entry.failing,
      keyOf: (entry) => `bucket-${entry.resource}`,
      alertKeyOf: (entry) => (entry.severity === "CRITICAL" ? `bucket-${entry.resource}` : "control-7"),
      policy: { supportHours: undefined, urgentAtAnyHour: [], backlogUntil: undefined },
    });

  it("counts a group closed by its last member's pass and opened again by a new member imported after it", () => {
    const walk = expectation();
    const [fixed, fresh] = [bucket(1), bucket(2)];
    walk.imported(fixed, 0, 1);
    assert.equal(walk.takeChanges(), 1, "opened");
    Object.assign(fixed, { failing: false, severity: "INFORMATIONAL" });
    walk.imported(fixed, 10, 2);
    walk.imported(fresh, 20, 2);
    assert.equal(walk.takeChanges(), 2, "closed, then opened again");
    assert.deepEqual(
      walk.openings.map((opening) => [opening.key, opening.scan]),
      [
        ["control-7", 1],
        ["control-7", 2],
      ],
    );
    assert.deepEqual([...walk.expectedOpen().keys()], ["control-7"]);
  });

  it("counts nothing when the new member is imported before the last one passes, and a CRITICAL member's move as its own alert opening", () => {
    const walk = expectation();
    const [fixed, fresh, worse] = [bucket(1), bucket(2), bucket(3)];
    walk.imported(fixed, 0, 1);
    walk.imported(worse, 1, 1);
    walk.takeChanges();
    walk.imported(fresh, 10, 2);
    Object.assign(fixed, { failing: false, severity: "INFORMATIONAL" });
    walk.imported(fixed, 20, 2);
    assert.equal(walk.takeChanges(), 0);
    Object.assign(worse, { severity: "CRITICAL" });
    walk.imported(worse, 30, 2);
    assert.equal(
      walk.takeChanges(),
      1,
      "the CRITICAL bucket's own alert; its group stays open with the fresh one",
    );
    assert.deepEqual([...walk.expectedOpen().keys()].sort(), ["bucket-3", "control-7"]);
  });
});

describe("the organization benchmark's report (small run)", () => {
  it("counts each team's failing findings and control-account pairs from the estate, pages them all once, and loses nothing", async () => {
    const report = await runOrganization({
      ...SHAPE,
      accounts: 12,
      findingsPerAccount: 150,
      format: "asff",
      stack: "prod",
      config: {},
    });
    assert.equal(report.lost, 0);
    assert.equal(report.wrongAlertsAtEnd, 0);
    assert.deepEqual([report.deadLettered, report.mostReceives], [0, 1]);
    for (const team of report.teams) {
      assert.equal(team.openAlertsAtEnd, team.openAlertsExpected, team.team);
      assert.equal(team.misrouted, 0, "one service takes everyone's findings");
      assert.ok(team.failingControlAccountPairs <= team.failingFindings);
      assert.ok(team.incidentsOpened >= team.failingFindings, "one incident per finding today");
      assert.ok(team.maxRequestsPerMinutePerKey <= 120);
    }
    assert.equal(
      report.teams.reduce((sum, team) => sum + team.accounts, 0),
      12,
    );
    assert.ok(report.teams.some((team) => team.failingFindings > 0));
    assert.equal(report.scans.length, 3);
    // The first deploy: the first scan's backlog opens at low urgency, and what passed since has resolved.
    const [first] = report.scans;
    assert.equal(first?.highUrgencyPages, 0);
    assert.ok((first?.lowUrgencyPages ?? 0) > 0);
    for (const scan of report.scans) {
      assert.equal(scan.highUrgencyPages, scan.highUrgencyExpected, `scan ${scan.scan}`);
      assert.equal(scan.lowUrgencyPages, scan.lowUrgencyExpected, `scan ${scan.scan}`);
    }
    assert.equal(report.urgency.wrongUrgency, 0);
    assert.equal(report.urgency.backlogAlerts, first?.lowUrgencyPages);
    assert.ok(report.urgency.backlogFixedByEnd > 0);
    assert.equal(report.urgency.backlogResolvedByEnd, report.urgency.backlogFixedByEnd);
    assert.ok(report.monthlyCostUsd.total > 0);
    assert.equal(report.monthlyCostUsd.eventBridge, 0, "Security Hub's events are free");
  });

  it("with the org stack, deploys one route per team (owner tag, account list, account tag) and pages each team's findings on its own service, within each key's limit", async () => {
    const shape = { ...SHAPE, accounts: 12, findingsPerAccount: 100 };
    const routes = organizationRoutes(createOrganization(shape), shape.findingsPerAccount);
    assert.deepEqual(
      routes.map((route) => Object.keys(route.match as object)[0]),
      ["resourceTags", "accountTags", "accounts", "accountTags"],
      "the owner-tag team first, then one by its account list, the others by their accounts' team tag",
    );
    const report = await runOrganization({ ...shape, format: "asff", stack: "org", config: {} });
    assert.equal(report.lost, 0);
    assert.equal(report.wrongAlertsAtEnd, 0);
    const paged = report.teams.filter((team) => team.alertsOpened > 0);
    assert.ok(paged.length >= 4, "the teams and the default route each have alerts");
    for (const team of report.teams) {
      assert.equal(team.misrouted, 0, team.team);
      assert.equal(team.openAlertsAtEnd, team.openAlertsExpected, team.team);
      assert.ok(team.maxRequestsPerMinutePerKey <= 120);
    }
    // Routes that send two teams' accounts to each other's services: each of their alerts is misrouted. One alert
    // per finding, so that an alert's key names its finding whichever route took it (a group's names its route).
    const [ownerRoute, first, listed, second] = routes;
    const swapped = [
      ownerRoute,
      { ...first, match: second?.match },
      listed,
      { ...second, match: first?.match },
    ];
    const wrong = await runOrganization({
      ...shape,
      format: "asff",
      stack: "org",
      config: { routes: JSON.stringify(swapped), alertPer: "finding" },
    });
    for (const name of [first?.name, second?.name]) {
      const team = wrong.teams.find((candidate) => candidate.team === name);
      assert.ok((team?.alertsOpened ?? 0) > 0);
      assert.equal(team?.misrouted, team?.alertsOpened, String(name));
    }
  });

  it("with alertPer: control on the org stack, opens at most one incident per failing control and account (and CRITICAL finding) of each team, and counts its expected alerts in groups", async () => {
    const shape = { ...SHAPE, accounts: 12, findingsPerAccount: 100 };
    const report = await runOrganization({
      ...shape,
      format: "asff",
      stack: "org",
      config: { alertPer: "control" },
    });
    assert.deepEqual([report.lost, report.wrongAlertsAtEnd], [0, 0]);
    const failing = report.teams.reduce((sum, team) => sum + team.failingFindings, 0);
    const incidents = report.teams.reduce((sum, team) => sum + team.incidentsOpened, 0);
    assert.ok(incidents < failing, `${incidents} incidents for ${failing} failing findings`);
    for (const team of report.teams) {
      assert.ok(team.incidentsOpened <= team.failingControlAccountPairs + team.criticalFindings, team.team);
      assert.equal(team.openAlertsAtEnd, team.openAlertsExpected, team.team);
      assert.equal(team.misrouted, 0, team.team);
    }
    for (const scan of report.scans.slice(1)) assert.ok(scan.pagerdutyRequests <= scan.stateChanges);
  });

  it("counts a page that never reached PagerDuty as lost, and one on another team's service as misrouted", async () => {
    const shape = { ...SHAPE, accounts: 6, findingsPerAccount: 120 };
    const organization = createOrganization(shape);
    const run = await runEstate({
      organization,
      estate: createEstate(organization, shape),
      format: "asff",
      stack: "prod",
      config: {},
      seed: 3,
      churn: () => undefined,
    });
    assert.equal(wrongAtEnd(run).lost, 0);
    const [key, alerts] = [...run.alertsByKey].find(([candidate]) => run.expectedOpen.has(candidate)) ?? [];
    assert.ok(key !== undefined && alerts !== undefined);
    const owner = ownerOf(organization, run.paged.get(key) as EstateEntry);
    const other = organization.teams.find((team) => team !== owner) ?? "";
    run.harness.serviceTeams.set(alerts[0]?.routingKey ?? "", other);
    const misrouted = teamReports(run, organization).find((team) => team.team === owner);
    assert.equal(
      misrouted?.misrouted,
      misrouted?.alertsOpened,
      "every alert of the owner went to another team's service",
    );
    // An incident that opened at high urgency where the backlog should have been low is counted.
    assert.equal(urgencyReport(run).wrongUrgency, 0);
    const woken = alerts[0];
    assert.ok(woken !== undefined && woken.urgency === "low");
    woken.urgency = "high";
    assert.equal(urgencyReport(run).wrongUrgency, 1);
    assert.equal(scanUrgency(run, 0).highUrgencyPages, 1);
    assert.equal(scanUrgency(run, 0).highUrgencyExpected, 0);
    run.alertsByKey.delete(key);
    assert.equal(wrongAtEnd(run).lost, 1);
  });
});
