import type { AlertEvent } from "../../handler/state/alerts";

/** The moment the pure alert state tests start from. */
export const T0 = Date.parse("2026-03-02T10:00:00.000Z");

/** A finding's event as the alert state sees it: a failure at T0, unless `overrides` say otherwise. */
export function alertEvent(overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    dedupKey: "securityhub-abc",
    action: "trigger",
    updatedAt: T0,
    format: "asff",
    fingerprint: "f1",
    passed: false,
    manual: false,
    finding: { id: "finding-1" },
    triaged: false,
    ...overrides,
  };
}
