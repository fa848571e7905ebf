/**
 * The shared scheduler behind every session's statechart timers: one Node timer for all of them,
 * deadlines in order, cancellation, and a callback that throws failing no other.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createScheduler } from "../../src/session/scheduler.js";

describe("createScheduler", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs entries in deadline order (ties in the order they were set), holding one Node timer for all", () => {
    const scheduler = createScheduler();
    const ran: string[] = [];
    scheduler.setTimeout(() => ran.push("c"), 300);
    scheduler.setTimeout(() => ran.push("a"), 100);
    scheduler.setTimeout(() => ran.push("b1"), 200);
    scheduler.setTimeout(() => ran.push("b2"), 200);
    expect(scheduler.pending()).toBe(4);
    expect(scheduler.nodeTimers()).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(150);
    expect(ran).toEqual(["a"]);
    vi.advanceTimersByTime(200);
    expect(ran).toEqual(["a", "b1", "b2", "c"]);
    expect(scheduler.pending()).toBe(0);
    expect(scheduler.nodeTimers()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a cleared entry never runs, and clearing the earliest re-arms for the next", () => {
    const scheduler = createScheduler();
    const ran: string[] = [];
    const first = scheduler.setTimeout(() => ran.push("first"), 100);
    scheduler.setTimeout(() => ran.push("second"), 1_000);
    scheduler.clearTimeout(first);
    scheduler.clearTimeout(first); // twice: no effect
    scheduler.clearTimeout(12345); // unknown: no effect
    expect(scheduler.pending()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual(["second"]);
  });

  it("clearing everything leaves no Node timer (nothing keeps the process alive or awake)", () => {
    const scheduler = createScheduler();
    const ids = Array.from({ length: 1_000 }, (_, i) => scheduler.setTimeout(() => {}, 1_000 + i));
    expect(vi.getTimerCount()).toBe(1);
    for (const id of ids) scheduler.clearTimeout(id);
    expect(scheduler.pending()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("many set/clear cycles keep only the live entries (cancelled ones are compacted away)", () => {
    const scheduler = createScheduler();
    const ran: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const id = scheduler.setTimeout(() => ran.push(-1), 5_000);
      scheduler.clearTimeout(id);
    }
    scheduler.setTimeout(() => ran.push(1), 10);
    expect(scheduler.pending()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(ran).toEqual([1]);
  });

  it("a callback that throws is reported as a timer's would be, after the others due with it ran", () => {
    const scheduler = createScheduler();
    const ran: string[] = [];
    scheduler.setTimeout(() => {
      throw new Error("boom");
    }, 10);
    scheduler.setTimeout(() => ran.push("same deadline"), 10);
    scheduler.setTimeout(() => ran.push("later"), 50);
    expect(() => vi.advanceTimersByTime(10)).toThrow("boom");
    expect(ran).toEqual(["same deadline"]);
    vi.advanceTimersByTime(40);
    expect(ran).toEqual(["same deadline", "later"]);
  });

  it("an entry set from inside a callback runs at its own deadline", () => {
    const scheduler = createScheduler();
    const ran: string[] = [];
    scheduler.setTimeout(() => {
      ran.push("outer");
      scheduler.setTimeout(() => ran.push("inner"), 0);
    }, 10);
    vi.advanceTimersByTime(10);
    expect(ran).toEqual(["outer", "inner"]);
  });

  it("a deadline past Node's largest delay is kept, re-armed on the way", () => {
    const scheduler = createScheduler();
    const ran: string[] = [];
    scheduler.setTimeout(() => ran.push("far"), 3_000_000_000);
    vi.advanceTimersByTime(2_147_483_647);
    expect(ran).toEqual([]);
    expect(scheduler.pending()).toBe(1);
    vi.advanceTimersByTime(3_000_000_000 - 2_147_483_647);
    expect(ran).toEqual(["far"]);
  });

  it("its Node timer is unref'd: a pending refresh never keeps the process alive", () => {
    vi.useRealTimers();
    const scheduler = createScheduler();
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const id = scheduler.setTimeout(() => {}, 60_000);
    const after = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    scheduler.clearTimeout(id);
    // getActiveResourcesInfo lists the timers that keep the event loop alive: an unref'd one is not among them.
    expect(after).toBe(before);
  });
});
