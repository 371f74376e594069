import type * as pulumi from "@pulumi/pulumi";

// The AWS resource types of this program that take tags (their SDK classes accept a `tags` input). Tag policies
// and cost allocation look at these; the others (policies, targets, permissions, the custom action, the function
// URL, the dashboard, subscriptions) have no tags in AWS.
export const TAGGABLE_TYPES: ReadonlySet<string> = new Set([
  "aws:cloudwatch/eventRule:EventRule",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:cloudwatch/metricAlarm:MetricAlarm",
  "aws:dynamodb/table:Table",
  "aws:iam/role:Role",
  "aws:lambda/eventSourceMapping:EventSourceMapping",
  "aws:lambda/function:Function",
  "aws:sns/topic:Topic",
  "aws:sqs/queue:Queue",
  "aws:ssm/parameter:Parameter",
]);

/** Adds the stack's tags to every taggable resource below the component it is given to; a resource's own win. */
export function tagsTransformation(tags: Record<string, string>): pulumi.ResourceTransformation {
  return (args) => {
    if (Object.keys(tags).length === 0 || !TAGGABLE_TYPES.has(args.type)) return undefined;
    const own = (args.props.tags ?? {}) as Record<string, string>;
    return { props: { ...args.props, tags: { ...tags, ...own } }, opts: args.opts };
  };
}
