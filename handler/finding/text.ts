// Text as PagerDuty and Security Hub accept it: timestamps they parse, and strings cut to their limits.

export const CONSOLE_HOSTS: Record<string, string> = {
  aws: "console.aws.amazon.com",
  "aws-cn": "console.amazonaws.cn",
  "aws-us-gov": "console.amazonaws-us-gov.com",
};

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A strictly valid ISO 8601 timestamp as epoch milliseconds (fractions beyond milliseconds dropped); undefined for
 * anything else (e.g. hour 122). Worked out from its parts: every record of a scan carries one, and building a
 * normalised text to parse again cost more than the rest of reading the time.
 */
export function isoMillis(value: string | undefined): number | undefined {
  const match = value === undefined ? null : ISO_8601.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second = "00", fraction = "0", zone = "Z"] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMinutes = 0;
  if (zone !== "Z") {
    const offsetHours = Number(zone.slice(1, 3));
    const offsetRest = Number(zone.slice(-2));
    if (offsetHours > 23 || offsetRest > 59) return undefined;
    offsetMinutes = (zone.startsWith("-") ? -1 : 1) * (offsetHours * 60 + offsetRest);
  }
  // setUTCFullYear takes years 0 to 99 as they are, where Date.UTC would read them as 1900 to 1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi - offsetMinutes, s, Number(fraction.padEnd(3, "0").slice(0, 3)));
  return date.getTime();
}

/** A strictly valid ISO 8601 timestamp, normalised to UTC; undefined for anything else (e.g. hour 122). */
export function isoTimestamp(value: string | undefined): string | undefined {
  const millis = isoMillis(value);
  return millis === undefined ? undefined : new Date(millis).toISOString();
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
