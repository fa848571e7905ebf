/**
 * What the bench's measures share: the clients compared, the order of a round, a median, and how
 * a noisy ratio is judged.
 */
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

/**
 * A measured ratio against its target, beside what noise alone gave in the same run (the A/A
 * control's rounds: the raw fetch measured against itself): above the target but not above the
 * control's highest round, the measurement cannot tell the client from noise — which is not "met".
 */
export const verdictBeyondNoise = (
  ratio: number,
  target: number,
  controlRounds: readonly number[],
): "met" | "within noise" | "not met" =>
  ratio <= target ? "met" : ratio <= Math.max(...controlRounds) ? "within noise" : "not met";
