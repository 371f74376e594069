import type { Finding, SeverityLabel } from "./model";

// Which team a finding pages: the stack's routes in order, the first that matches wins, else the default route.
// Pure: the account's tags and parents (from AWS Organizations) are facts the edge fetched, or could not.

export const DEFAULT_ROUTE = "default";

/** What a route can match on; within a field any value matches, across fields all must. */
export interface RouteMatch {
  accounts?: string[];
  /** Account tags in AWS Organizations: each key with the values it may have. */
  accountTags?: Record<string, string[]>;
  /** Organizational units (ou-…, by id or name) or the root (r-…) the account is in, at any depth. */
  organizationalUnits?: string[];
  /** Tags of the finding's resources (ASFF Resources[].Tags, OCSF resources[].tags): any resource may carry them. */
  resourceTags?: Record<string, string[]>;
  products?: string[];
  severityLabels?: SeverityLabel[];
  /** Security control ids, e.g. S3.2. */
  controls?: string[];
  regions?: string[];
}

export const MATCH_FIELDS = [
  "accounts",
  "accountTags",
  "organizationalUnits",
  "resourceTags",
  "products",
  "severityLabels",
  "controls",
  "regions",
] as const satisfies readonly (keyof RouteMatch)[];

export type MatchField = (typeof MATCH_FIELDS)[number];

export interface RouteRule {
  name: string;
  match: RouteMatch;
}

/** An account as AWS Organizations describes it: its tags, and its parents from the nearest to the root. */
export interface AccountFacts {
  tags: Record<string, string>;
  parents: { id: string; name?: string }[];
}

export type AccountLookup =
  | { kind: "known"; facts: AccountFacts }
  /** Organizations answered that the account is not one of its members: it has no tags and no parents. */
  | { kind: "notInOrganization" }
  /** Organizations could not be read (denied, throttled, unreachable). */
  | { kind: "unavailable"; reason: string };

export interface RouteChoice {
  route: string;
  why: string;
  /** The account's facts were needed and could not be read: the default route was taken instead. */
  fallback?: string;
}

/** Which accounts' findings this stack pages for: the others are paged by the member account's own stack. */
export interface AccountScope {
  include: string[];
  exclude: string[];
}

export function needsAccountFacts(match: RouteMatch): boolean {
  return match.accountTags !== undefined || match.organizationalUnits !== undefined;
}

/** Why the finding's account is not this stack's to page, or undefined when it is. */
export function outOfScope(finding: Finding, scope: AccountScope): string | undefined {
  const account = finding.account ?? "unknown";
  if (scope.exclude.includes(account)) return `account ${account} is excluded (it has a stack of its own)`;
  if (scope.include.length > 0 && !scope.include.includes(account))
    return `account ${account} is not one of the included accounts`;
  return undefined;
}

/** Pure: the route of a finding, given what Organizations said of its account (undefined: nothing was asked). */
export function chooseRoute(
  finding: Finding,
  rules: RouteRule[],
  account: AccountLookup | undefined,
): RouteChoice {
  for (const rule of rules) {
    let facts: AccountFacts = { tags: {}, parents: [] };
    if (needsAccountFacts(rule.match)) {
      if (account === undefined || account.kind === "unavailable") {
        const reason = account?.reason ?? "account facts were not looked up";
        return {
          route: DEFAULT_ROUTE,
          why: `route ${rule.name} needs the account's tags or parents, which could not be read`,
          fallback: reason,
        };
      }
      if (account.kind === "known") facts = account.facts;
    }
    const miss = mismatch(finding, rule.match, facts);
    if (miss === undefined) return { route: rule.name, why: `matches route ${rule.name}` };
  }
  return { route: DEFAULT_ROUTE, why: "no route matches" };
}

/**
 * The first field of `match` the finding does not satisfy, or undefined when it satisfies all. Fields are checked in
 * MATCH_FIELDS' order and only until one fails: every finding of an organization is tried against route after route.
 */
function mismatch(finding: Finding, match: RouteMatch, facts: AccountFacts): MatchField | undefined {
  return MATCH_FIELDS.find((field) => match[field] !== undefined && !satisfies(finding, match, facts, field));
}

function anyOf(allowed: readonly string[] | undefined, values: (string | undefined)[]): boolean {
  return allowed === undefined || values.some((value) => value !== undefined && allowed.includes(value));
}

function tagsMatch(
  wanted: Record<string, string[]> | undefined,
  valuesOf: (key: string) => readonly string[],
): boolean {
  return (
    wanted === undefined ||
    Object.entries(wanted).every(([key, values]) => valuesOf(key).some((value) => values.includes(value)))
  );
}

function satisfies(finding: Finding, match: RouteMatch, facts: AccountFacts, field: MatchField): boolean {
  switch (field) {
    case "accounts":
      return anyOf(match.accounts, [finding.account]);
    case "accountTags":
      return tagsMatch(match.accountTags, (key) => {
        const value = facts.tags[key];
        return value === undefined ? [] : [value];
      });
    case "organizationalUnits":
      return anyOf(
        match.organizationalUnits,
        facts.parents.flatMap((parent) => [parent.id, parent.name]),
      );
    case "resourceTags":
      return tagsMatch(match.resourceTags, (key) => finding.resourceTags[key] ?? []);
    case "products":
      return anyOf(match.products, finding.productNames);
    case "severityLabels":
      return anyOf(match.severityLabels, [finding.severity.label]);
    case "controls":
      return anyOf(match.controls, [finding.securityControlId]);
    case "regions":
      return anyOf(match.regions, [finding.region]);
  }
}

/**
 * Pure: whether `earlier` matches every finding `later` matches, so that `later`, listed after it, can never
 * match. Conservative: true only when each field `earlier` constrains, `later` constrains to a subset.
 */
export function takesEverythingOf(earlier: RouteMatch, later: RouteMatch): boolean {
  const subset = (outer: readonly string[], inner: readonly string[] | undefined) =>
    inner !== undefined && inner.every((value) => outer.includes(value));
  const tagSubset = (outer: Record<string, string[]>, inner: Record<string, string[]> | undefined) =>
    inner !== undefined && Object.entries(outer).every(([key, values]) => subset(values, inner[key]));
  return MATCH_FIELDS.every((field) => {
    if (field === "accountTags" || field === "resourceTags") {
      const outer = earlier[field];
      return outer === undefined || tagSubset(outer, later[field]);
    }
    const outer = earlier[field];
    return outer === undefined || subset(outer, later[field]);
  });
}

/** Tag pairs gathered into each key with its distinct values. */
export function tagsByKey(pairs: [string, string][]): Record<string, string[]> {
  const tags: Record<string, string[]> = {};
  for (const [key, value] of pairs) {
    const values = (tags[key] ??= []);
    if (!values.includes(value)) values.push(value);
  }
  return tags;
}

/**
 * A route's PagerDuty integrations: PagerDuty's rate limit is per routing key, so a route whose team gets more new
 * alerts at once than one key carries in a minute spreads them over several integrations of its service. An alert
 * lives on one of them, by a hash of its dedup key, and stays there until it closes: PagerDuty deduplicates per
 * integration. The first integration is the route itself (`payments`), the others `payments.2`, `payments.3`.
 */
export const MAX_INTEGRATIONS = 10;

/** Pure: the integration of a route an alert (by its dedup key) opens on. */
export function integrationOf(route: string, integrations: number, alertKey: string): string {
  // FNV-1a: stable across versions and processes, and spread evenly over a handful of integrations.
  let hash = 0x811c9dc5;
  for (let index = 0; index < alertKey.length; index += 1) {
    hash = Math.imul(hash ^ alertKey.charCodeAt(index), 0x01000193) >>> 0;
  }
  const nth = integrations > 1 ? (hash % integrations) + 1 : 1;
  return nth === 1 ? route : `${route}.${nth}`;
}

/** The route an integration (as integrationOf names it) belongs to, and which of its integrations it is (from 1). */
export function routeOfIntegration(integration: string): { route: string; nth: number } {
  const match = /^(.*)\.(\d+)$/.exec(integration);
  return match === null ? { route: integration, nth: 1 } : { route: match[1] ?? "", nth: Number(match[2]) };
}

/** Pure: the SSM parameter of each of a route's integrations' routing keys, the first being the route's own. */
export function integrationParameterNames(parameterName: string, integrations: number): string[] {
  return Array.from({ length: integrations }, (_, index) =>
    index === 0 ? parameterName : `${parameterName}.key${index + 1}`,
  );
}
