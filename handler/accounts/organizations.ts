import {
  DescribeOrganizationalUnitCommand,
  ListParentsCommand,
  ListTagsForResourceCommand,
  type OrganizationsClient,
} from "@aws-sdk/client-organizations";
import type { AccountFacts, AccountLookup } from "../finding/routes";
import type { Clock } from "../clock";
import { errorText, type Logger } from "../telemetry/log";

// The edge that tells the routes who owns an account: its tags and its parents (OUs up to the root) from AWS
// Organizations, cached per container. A page never waits long on it: a lookup has a short time budget, a failure
// is remembered for a while (so a denied or throttled Organizations is not asked again for every finding), and the
// finding then takes the default route. A refresh that fails keeps the facts read before.

/** The three read-only calls, one page each; the SDK client in a deployment. */
export interface OrganizationsReads {
  listTags(
    resourceId: string,
    nextToken: string | undefined,
  ): Promise<{ tags: Record<string, string>; next?: string }>;
  listParents(
    childId: string,
    nextToken: string | undefined,
  ): Promise<{ parents: { id: string; type: string }[]; next?: string }>;
  describeUnit(unitId: string): Promise<{ name?: string }>;
}

export function organizationsReads(client: OrganizationsClient): OrganizationsReads {
  return {
    async listTags(resourceId, nextToken) {
      const output = await client.send(
        new ListTagsForResourceCommand({ ResourceId: resourceId, NextToken: nextToken }),
      );
      const tags = Object.fromEntries((output.Tags ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]));
      return output.NextToken === undefined ? { tags } : { tags, next: output.NextToken };
    },
    async listParents(childId, nextToken) {
      const output = await client.send(new ListParentsCommand({ ChildId: childId, NextToken: nextToken }));
      const parents = (output.Parents ?? []).map((parent) => ({
        id: parent.Id ?? "",
        type: parent.Type ?? "",
      }));
      return output.NextToken === undefined ? { parents } : { parents, next: output.NextToken };
    },
    async describeUnit(unitId) {
      const output = await client.send(
        new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: unitId }),
      );
      return output.OrganizationalUnit?.Name === undefined ? {} : { name: output.OrganizationalUnit.Name };
    },
  };
}

export interface AccountFactsOptions {
  reads: OrganizationsReads;
  /** How long facts are kept before Organizations is asked again. */
  ttlMs: number;
  /** How long a failed lookup is remembered: meanwhile the account's findings take the default route at once. */
  failureMemoryMs: number;
  /** The most a lookup may take; past it, the finding takes the default route. */
  budgetMs: number;
  /** OU names are read (DescribeOrganizationalUnit) only when a route names an OU rather than its id. */
  unitNames: boolean;
  clock: Clock;
  log: Logger;
}

export type AccountFactsReader = (account: string) => Promise<AccountLookup>;

// Organizations' answers for an id it does not know: not a member of this organization.
const NOT_A_MEMBER = ["TargetNotFoundException", "ChildNotFoundException", "AccountNotFoundException"];
// Pages followed per call before the answer is taken as malformed.
const MAX_PAGES = 50;
// An account's parents up to the root: Organizations nests OUs five deep at most.
const MAX_DEPTH = 6;

export function createAccountFacts(options: AccountFactsOptions): AccountFactsReader {
  const { reads, clock } = options;
  const known = new Map<string, { lookup: AccountLookup; at: number }>();
  const failed = new Map<string, { reason: string; at: number }>();
  const inFlight = new Map<string, Promise<AccountLookup>>();

  async function allPages<T>(
    call: (token: string | undefined) => Promise<{ next?: string } & T>,
    gather: (page: T) => void,
  ) {
    let token: string | undefined;
    for (let pages = 0; pages < MAX_PAGES; pages += 1) {
      const page = await call(token);
      gather(page);
      if (page.next === undefined) return;
      token = page.next;
    }
    throw new Error(`Organizations kept paging past ${MAX_PAGES} pages`);
  }

  async function read(account: string): Promise<AccountLookup> {
    const tags: Record<string, string> = {};
    await allPages(
      (token) => reads.listTags(account, token),
      (page) => Object.assign(tags, page.tags),
    );
    const parents: AccountFacts["parents"] = [];
    let child = account;
    for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
      const found: { id: string; type: string }[] = [];
      await allPages(
        (token) => reads.listParents(child, token),
        (page) => found.push(...page.parents),
      );
      const parent = found[0];
      if (parent === undefined) break;
      const name =
        options.unitNames && parent.type === "ORGANIZATIONAL_UNIT"
          ? (await reads.describeUnit(parent.id)).name
          : undefined;
      parents.push(name === undefined ? { id: parent.id } : { id: parent.id, name });
      if (parent.type !== "ORGANIZATIONAL_UNIT") break;
      child = parent.id;
    }
    return { kind: "known", facts: { tags, parents } };
  }

  async function lookUp(account: string): Promise<AccountLookup> {
    const stale = known.get(account);
    // The budget runs on the function's clock, as its calls' latency does: the benchmark's virtual time, not the
    // machine's (a loaded simulation would otherwise run out of a budget its lookups never used).
    const answered = new AbortController();
    const overBudget = new Promise<never>((_, reject) => {
      void clock.sleep(options.budgetMs, answered.signal).then(() => {
        if (!answered.signal.aborted) reject(new Error(`no answer within ${options.budgetMs} ms`));
      });
    });
    try {
      const lookup = await Promise.race([read(account), overBudget]);
      known.set(account, { lookup, at: clock.now() });
      failed.delete(account);
      return lookup;
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      if (typeof name === "string" && NOT_A_MEMBER.includes(name)) {
        const lookup: AccountLookup = { kind: "notInOrganization" };
        known.set(account, { lookup, at: clock.now() });
        return lookup;
      }
      const reason = errorText(error);
      if (stale !== undefined) {
        options.log.warn("account facts refresh failed; using the ones read earlier", {
          account,
          error: reason,
        });
        return stale.lookup;
      }
      options.log.warn("account facts unavailable; the default route is taken", { account, error: reason });
      failed.set(account, { reason, at: clock.now() });
      return { kind: "unavailable", reason };
    } finally {
      answered.abort();
    }
  }

  return (account) => {
    const now = clock.now();
    const cached = known.get(account);
    if (cached !== undefined && now - cached.at < options.ttlMs) return Promise.resolve(cached.lookup);
    const failure = failed.get(account);
    if (cached === undefined && failure !== undefined && now - failure.at < options.failureMemoryMs) {
      return Promise.resolve({ kind: "unavailable", reason: failure.reason });
    }
    let pending = inFlight.get(account);
    if (pending === undefined) {
      pending = lookUp(account).finally(() => inFlight.delete(account));
      inFlight.set(account, pending);
    }
    return pending;
  };
}
