import { strict as assert } from "node:assert";
import { createMemoryPacingStore, createPacer, type SlotPriority } from "../handler/delivery/pacing";
import { priorityOf } from "../handler/delivery/delivery";
import { silentLogger } from "../handler/telemetry/log";
import { createVirtualTime } from "../tools/simulation/virtualTime";

// One key's shared schedule, as the invocations of every lane draw from it, on virtual time.
describe("the send schedule", () => {
  const INTERVAL = 1000;

  async function run(urgentPriority: SlotPriority) {
    const time = createVirtualTime(0);
    const store = createMemoryPacingStore();
    const pacer = () =>
      createPacer({
        store,
        id: "key",
        eventsPerMinute: 60_000 / INTERVAL,
        clock: time.clock,
        log: silentLogger,
      });
    const sent: { at: number; who: string }[] = [];
    // Ten invocations each send twenty events back to back, as a rescan's updates and resolves keep them busy.
    const senders = Array.from({ length: 10 }, async (_, index) => {
      const own = pacer();
      for (let event = 0; event < 20; event += 1) {
        const at = await own.acquire(time.now() + 60_000, "normal");
        if (at === undefined) continue;
        await time.clock.sleep(at - time.now());
        sent.push({ at, who: `normal-${index}` });
      }
    });
    let asked = 0;
    let given: number | undefined;
    time.at(30_500, () => {
      asked = time.now();
      void pacer()
        .acquire(time.now() + 60_000, urgentPriority)
        .then((at) => {
          given = at;
          if (at !== undefined) sent.push({ at, who: "urgent" });
        });
    });
    await time.run();
    await Promise.all(senders);
    return { sent: sent.sort((a, b) => a.at - b.at), waited: (given ?? Infinity) - asked };
  }

  it("gives a CRITICAL page the next slot but one, however many invocations are sending other events", async () => {
    const { sent, waited } = await run("urgent");
    assert.ok(waited <= 2 * INTERVAL, `the urgent event waited ${waited} ms`);
    // Every slot is still used once: the other events lose no throughput to the rule.
    const gaps = sent.slice(1).map((entry, index) => entry.at - (sent[index]?.at ?? 0));
    assert.equal(sent.length, 201);
    assert.deepEqual([...new Set(gaps)], [INTERVAL]);
  });

  it("takes a CRITICAL finding's trigger first at any urgency, then pages that open an alert, then updates and resolves", () => {
    assert.equal(priorityOf({ event_action: "trigger" }, "CRITICAL", false), "urgent");
    assert.equal(priorityOf({ event_action: "resolve" }, "CRITICAL", false), "normal");
    assert.equal(priorityOf({ event_action: "trigger" }, "HIGH", true), "page");
    assert.equal(priorityOf({ event_action: "trigger" }, "HIGH", false), "normal");
  });
});
