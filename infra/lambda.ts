import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { LAMBDA_ASSUME_ROLE } from "./iamPolicies";

// What both functions of the stack share in how they are deployed.

/** The Node.js Lambda runtimes ship AWS SDK v3: the archives carry only the project's own code. */
const RUNTIME_PROVIDED_PACKAGES = [
  "@aws-sdk/client-dynamodb",
  "@aws-sdk/client-organizations",
  "@aws-sdk/client-securityhub",
  "@aws-sdk/client-sqs",
  "@aws-sdk/client-ssm",
  "@aws-sdk/client-sts",
];

/** Lambda names allow letters, digits, hyphens and underscores, up to 64; stack names may also hold dots. */
export function lambdaFunctionName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
}

/** A function's log group, kept for the stack's retention, and the role it runs as (its policy is the caller's). */
export function functionLogsAndRole(
  prefix: string,
  args: { functionName: string; logRetentionDays: number; roleDescription: string },
  opts: pulumi.CustomResourceOptions,
): { logGroup: aws.cloudwatch.LogGroup; role: aws.iam.Role } {
  const logGroup = new aws.cloudwatch.LogGroup(
    `${prefix}-logs`,
    { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.logRetentionDays },
    opts,
  );
  const role = new aws.iam.Role(
    `${prefix}-role`,
    { description: args.roleDescription, assumeRolePolicy: JSON.stringify(LAMBDA_ASSUME_ROLE) },
    opts,
  );
  return { logGroup, role };
}

/** How both functions run: Node.js 22 on arm64, JSON logs into their own group, the AWS SDK from the runtime. */
export function functionRuntime(logGroup: aws.cloudwatch.LogGroup) {
  return {
    runtime: "nodejs22.x",
    architectures: ["arm64"],
    loggingConfig: {
      logFormat: "JSON",
      logGroup: logGroup.name,
      applicationLogLevel: "INFO",
      systemLogLevel: "WARN",
    },
    codePathOptions: { extraExcludePackages: RUNTIME_PROVIDED_PACKAGES },
  };
}
