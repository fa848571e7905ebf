/**
 * toSvg draws every state node of the machine and every transition between two states, and
 * marks the path a run took: visited states, the transitions taken numbered in order.
 */
import { describe, expect, it } from "vitest";
import type { AnyStateNode } from "xstate";
import { toSvg } from "../../src/diagram/index.js";
import { authMachine, authorizationCodeFlow } from "../../src/index.js";

const stateIds = (node: AnyStateNode): string[] =>
  Object.values(node.states).flatMap((child) => [child.id, ...stateIds(child)]);

describe("toSvg", () => {
  it.each([authMachine, authorizationCodeFlow])(
    "draws every state of $id, and nothing active",
    (machine) => {
      const svg = toSvg(machine);
      for (const id of stateIds(machine.root)) expect(svg).toContain(`data-state="${id}"`);
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(svg).not.toMatch(/<script|javascript:|href=|xlink/i);
      expect(svg).not.toContain('class="transition taken"');
      expect(svg.match(/class="transition"/g)?.length ?? 0).toBeGreaterThan(10);
    },
  );

  it("marks the visited states and numbers the transitions taken", () => {
    const svg = toSvg(authMachine, {
      visited: new Set(["authchart.unauthorized", "authchart.obtaining", "authchart.authorized"]),
      transitions: [
        { source: "authchart.unauthorized", target: "authchart.obtaining" },
        { source: "authchart.obtaining.authorizationCode", target: "authchart.authorized" },
        { source: "authchart.authorized", target: "authchart.obtaining" },
        { source: "authchart.obtaining.authorizationCode", target: "authchart.authorized" },
      ],
      last: "authchart.authorized",
    });
    expect(svg).toContain('class="state visited" data-state="authchart.authorized"');
    expect(svg).not.toContain('class="state visited" data-state="authchart.refreshing"');
    const taken = svg.match(/<g class="transition taken"[^>]*>/g) ?? [];
    expect(taken).toHaveLength(3);
    expect(svg).toMatch(/>2,4<\/text>/);
    expect(svg).toContain('stroke-width="3"');
  });
});
