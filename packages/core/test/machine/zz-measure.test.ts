import { it } from "vitest";
import { getAdjacencyMap } from "xstate/graph";
import { authMachine } from "../../src/machine/auth-machine.js";
import { modelEvents, serializeAbstract } from "./graph-model.js";
import { input } from "./scripted.js";

it("measure", () => {
  for (const cfg of [{ maxAuthorizationsPerScopeSet: 1, maxRefreshRetries: 1 }, { maxAuthorizationsPerScopeSet: 2, maxRefreshRetries: 1 }]) {
  const t0 = performance.now();
  const m = new Map<string, any>();
  try {
    getAdjacencyMap(authMachine, {
      input: input(cfg),
      events: modelEvents as never,
      stopWhen: (s) => (s.context.token?.version ?? 0) > 2,
      limit: 200000,
      serializeState: (s) => { const sn = serializeAbstract(s as never); m.set(sn, s); return sn; },
    }) as never;
  } catch (e) { console.log(String(e)); }
  console.log("states", m.size, Math.round(performance.now() - t0), "ms");
  const fields = new Map<string, Set<string>>();
  for (const s of m.keys()) {
    for (const [k, v] of Object.entries(JSON.parse(s))) {
      if (!fields.has(k)) fields.set(k, new Set());
      fields.get(k)!.add(JSON.stringify(v));
    }
  }
  for (const [k, v] of fields) console.log(k, v.size, [...v].slice(0, 8).join(" | ").slice(0, 300));
  }
});
