/**
 * Whether an AWS call failed for a passing reason: throttling (each service names it its own way), a server error,
 * or no answer at all. A denied request, a missing resource or an invalid input do not pass with time.
 */
export function isTransient(error: unknown): boolean {
  const details = error as { name?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (/Throttl|TooManyRequests|RequestLimitExceeded|LimitExceeded/.test(String(details.name))) return true;
  if (details.$fault === "server") return true;
  const status = details.$metadata?.httpStatusCode;
  return typeof status === "number" ? status >= 500 || status === 429 : true;
}
