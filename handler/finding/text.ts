// Text as PagerDuty and Security Hub accept it: timestamps they parse, and strings cut to their limits.

export const CONSOLE_HOSTS: Record<string, string> = {
  aws: "console.aws.amazon.com",
  "aws-cn": "console.amazonaws.cn",
  "aws-us-gov": "console.amazonaws-us-gov.com",
};

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A strictly valid ISO 8601 timestamp, normalised to UTC; undefined for anything else (e.g. hour 122). */
export function isoTimestamp(value: string | undefined): string | undefined {
  const match = value === undefined ? null : ISO_8601.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second = "00", fraction = "0", zone] = match;
  const numbers = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = numbers;
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  const millis = fraction.padEnd(3, "0").slice(0, 3);
  const offset = zone === "Z" ? "Z" : `${zone?.slice(0, 3)}:${zone?.slice(-2)}`;
  const parsed = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}${offset}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

export const CUT_MARKER = "…";

/** Cut to at most `max` UTF-16 units, marking the cut and never splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, prefixLength(text, max - CUT_MARKER.length)) + CUT_MARKER;
}

/** `wanted` or one less, so that a prefix of that length does not end inside a surrogate pair. */
export function prefixLength(text: string, wanted: number): number {
  const length = Math.max(0, Math.min(wanted, text.length));
  const code = text.charCodeAt(length - 1);
  return code >= 0xd800 && code <= 0xdbff ? length - 1 : length;
}
