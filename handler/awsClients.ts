// The settings every AWS SDK client of both functions is made with. Without a request timeout a call that hangs
// (a connection that never answers) lasts until Lambda stops the function, and the records it held wait a whole
// visibility timeout; with one (which this SDK only warns about unless told to throw), the SDK abandons the
// attempt and retries, and the caller hands back in time.
// The state table, SSM and SQS answer in milliseconds; Security Hub's batch writes in well under a second.

export const AWS_CLIENT_CONFIG = {
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  maxAttempts: 3,
} as const;
