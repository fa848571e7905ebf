/** What the bench's measures share: the clients compared, the order of a round, a median. */
export const kinds = ["authchart", "sdk1", "sdk2"] as const;
export type Kind = (typeof kinds)[number];

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor((s.length - 1) / 2)] as number);
};
/**
 * A shuffled copy of `xs`, the same for the same `seed` (Fisher–Yates over a 32-bit LCG): blocks
 * in an order that varies, so that no variant always runs right after the same other one.
 */
export const shuffled = <T>(xs: readonly T[], seed: number): T[] => {
  const out = [...xs];
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
};

/** The clients in round r's order: each goes first in turn (the machine drifts within a round). */
export const rotate = <T>(xs: readonly T[], r: number) =>
  xs.map((_, i) => xs[(i + r) % xs.length] as T);
