// What both functions of the stack share in how they are deployed.

/** The Node.js Lambda runtimes ship AWS SDK v3: the archives carry only the project's own code. */
export const RUNTIME_PROVIDED_PACKAGES = [
  "@aws-sdk/client-dynamodb",
  "@aws-sdk/client-securityhub",
  "@aws-sdk/client-sqs",
  "@aws-sdk/client-ssm",
];

/** Lambda names allow letters, digits, hyphens and underscores, up to 64; stack names may also hold dots. */
export function lambdaFunctionName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
}
