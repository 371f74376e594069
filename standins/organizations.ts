import { AwsError, requireString, startAwsJsonStandIn, type AwsJsonStandIn } from "./awsJson";

// AWS Organizations' read calls the function makes (ListTagsForResource, ListParents, DescribeOrganizationalUnit),
// answered as Organizations answers: pages of at most `pageSize` (and, as the API warns, sometimes an empty page
// that still has a NextToken), TargetNotFoundException / ChildNotFoundException for an account outside the
// organization, and whatever failNext injects (TooManyRequestsException, AccessDeniedException).

export interface OrganizationsTree {
  rootId: string;
  /** Organizational units: id → its name and parent (an OU id or the root). */
  units: Record<string, { name: string; parent: string }>;
  /** Member accounts: id → its tags and parent. */
  accounts: Record<string, { tags: Record<string, string>; parent: string }>;
}

export type OrganizationsStandIn = AwsJsonStandIn & {
  /** Changes an account's tags, as a person would in the console. */
  tagAccount(account: string, tags: Record<string, string>): void;
};

const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ACCOUNT_ID = /^\d{12}$/;

function invalid(field: string): AwsError {
  return new AwsError(
    "InvalidInputException",
    `You provided a value that does not match the required pattern: ${field}`,
  );
}

/** One page of `items`, from the position NextToken says; an empty first page with a token, as the API allows. */
function page<T>(
  items: T[],
  input: Record<string, unknown>,
  pageSize: number,
): { items: T[]; next?: string } {
  const token = input.NextToken;
  if (token !== undefined && (typeof token !== "string" || !/^page-\d+$/.test(token)))
    throw new AwsError(
      "InvalidInputException",
      "INVALID_PAGINATION_TOKEN: the NextToken is not one this API gave",
    );
  if (token === undefined && items.length > 0) return { items: [], next: "page-0" };
  const start = token === undefined ? 0 : Number(token.slice("page-".length));
  const slice = items.slice(start, start + pageSize);
  const end = start + slice.length;
  return end < items.length ? { items: slice, next: `page-${end}` } : { items: slice };
}

export async function startOrganizationsStandIn(
  tree: OrganizationsTree,
  pageSize = 2,
): Promise<OrganizationsStandIn> {
  const withToken = <T extends Record<string, unknown>>(body: T, next: string | undefined) =>
    next === undefined ? body : { ...body, NextToken: next };
  const standIn = await startAwsJsonStandIn({
    targetPrefix: "AWSOrganizationsV20161128",
    contentType: "application/x-amz-json-1.1",
    operations: {
      ListTagsForResource(input) {
        const id = requireString(input, "ResourceId");
        if (!ACCOUNT_ID.test(id) && !OU_ID.test(id) && !ROOT_ID.test(id)) throw invalid("ResourceId");
        const account = tree.accounts[id];
        if (account === undefined && tree.units[id] === undefined && id !== tree.rootId)
          throw new AwsError(
            "TargetNotFoundException",
            "We can't find a root, OU, account, or policy with the TargetId that you specified.",
          );
        const tags = Object.entries(account?.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
        const { items, next } = page(tags, input, pageSize);
        return withToken({ Tags: items }, next);
      },
      ListParents(input) {
        const id = requireString(input, "ChildId");
        if (!ACCOUNT_ID.test(id) && !OU_ID.test(id)) throw invalid("ChildId");
        const parent = tree.accounts[id]?.parent ?? tree.units[id]?.parent;
        if (parent === undefined)
          throw new AwsError(
            "ChildNotFoundException",
            "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
          );
        const parents = [{ Id: parent, Type: parent === tree.rootId ? "ROOT" : "ORGANIZATIONAL_UNIT" }];
        const { items, next } = page(parents, input, pageSize);
        return withToken({ Parents: items }, next);
      },
      DescribeOrganizationalUnit(input) {
        const id = requireString(input, "OrganizationalUnitId");
        if (!OU_ID.test(id)) throw invalid("OrganizationalUnitId");
        const unit = tree.units[id];
        if (unit === undefined)
          throw new AwsError(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
          );
        return {
          OrganizationalUnit: {
            Id: id,
            Name: unit.name,
            Arn: `arn:aws:organizations::111122223333:ou/o-example/${id}`,
          },
        };
      },
    },
  });
  return {
    ...standIn,
    tagAccount(account, tags) {
      const entry = tree.accounts[account];
      if (entry === undefined) throw new Error(`account ${account} is not in the organization`);
      entry.tags = { ...tags };
    },
  };
}
