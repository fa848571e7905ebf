/** The bench's shared measures: the orders its rounds run in, the median, and the noisy verdict. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { median, rotate, shuffled, verdictBeyondNoise } from "../src/rounds.js";

describe("median", () => {
  it("is the middle value, the lower of the two middle ones for an even count", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([7])).toBe(7);
  });

  it("is NaN for no values (no measurement is no number)", () => {
    expect(median([])).toBeNaN();
  });

  it("leaves its input in its order", () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe("rotate", () => {
  it("puts each client first in turn", () => {
    const xs = ["a", "b", "c"];
    expect([0, 1, 2, 3].map((r) => rotate(xs, r)[0])).toEqual(["a", "b", "c", "a"]);
    expect(rotate(xs, 1)).toEqual(["b", "c", "a"]);
  });
});

describe("shuffled", () => {
  const variants = ["raw", "control", "authchart", "sdk1", "sdk2"];

  it("is a permutation of its input, the same for the same seed", () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const order = shuffled(variants, seed);
        expect([...order].sort()).toEqual([...variants].sort());
        expect(shuffled(variants, seed)).toEqual(order);
      }),
    );
  });

  it("gives the blocks of a run varied orders: every variant runs right after every other", () => {
    // The bench's full run uses seeds 0…(20 × 15): the control's ratio is only a control if it
    // does not always follow the raw fetch it is compared with.
    const follows = new Set<string>();
    for (let seed = 0; seed < 300; seed++) {
      const order = shuffled(variants, seed);
      for (let i = 1; i < order.length; i++) follows.add(`${order[i - 1]} ${order[i]}`);
    }
    expect(follows.size).toBe(variants.length * (variants.length - 1));
    const firsts = new Set(Array.from({ length: 300 }, (_, seed) => shuffled(variants, seed)[0]));
    expect(firsts.size).toBe(variants.length);
  });
});

describe("verdictBeyondNoise", () => {
  const control = [0.93, 1.01, 1.12];

  it("is met at or under the target", () => {
    expect(verdictBeyondNoise(1.05, 1.05, control)).toBe("met");
    expect(verdictBeyondNoise(0.97, 1.05, control)).toBe("met");
  });

  it("is within noise above the target, up to the control's highest round", () => {
    expect(verdictBeyondNoise(1.08, 1.05, control)).toBe("within noise");
    expect(verdictBeyondNoise(1.12, 1.05, control)).toBe("within noise");
  });

  it("is not met beyond what noise alone gave", () => {
    expect(verdictBeyondNoise(1.13, 1.05, control)).toBe("not met");
    // A quiet machine's control resolves the target itself.
    expect(verdictBeyondNoise(1.06, 1.05, [0.99, 1.0, 1.01])).toBe("not met");
  });
});
