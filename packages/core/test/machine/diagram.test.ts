/**
 * docs/state-diagram.md is generated from the machine (scripts/diagram.mjs, with the renderer of
 * src/diagram/); this test renders the source machine in memory and fails when the committed file
 * differs.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  renderDocument,
  toMermaid,
  transitionRows,
  withReadmeDiagram,
} from "../../src/diagram/index.js";
import { authMachine } from "../../src/machine/auth-machine.js";
import { authorizationCodeFlow } from "../../src/machine/flows/authorization-code.js";
import { flows } from "./scripted.js";

const charts = { lifecycle: authMachine, flows: Object.values(flows) };
/** The files scripts/diagram.mjs writes, at the repository root. */
const documentPath = fileURLToPath(new URL("../../../../docs/state-diagram.md", import.meta.url));
const readmePath = fileURLToPath(new URL("../../../../README.md", import.meta.url));

import { stateNodesOf, transitionsOf } from "./scripted.js";

describe("docs/state-diagram.md", () => {
  it("is the diagram of the current machine (run `npm run diagram` after changing it)", async () => {
    const committed = await readFile(documentPath, "utf8").catch(() => "(missing)");
    expect(
      committed === renderDocument(charts),
      "docs/state-diagram.md is out of date: run `npm run diagram`",
    ).toBe(true);
  });

  it("is the diagram the README shows (run `npm run diagram` after changing the machine)", async () => {
    const readme = await readFile(readmePath, "utf8");
    expect(
      readme === withReadmeDiagram(readme, charts),
      "README.md's diagram is out of date: run `npm run diagram`",
    ).toBe(true);
    expect(readme).toContain("```mermaid\nstateDiagram-v2");
  });

  it("draws every state node and lists every transition, of the lifecycle and of each flow", () => {
    for (const machine of [authMachine, ...Object.values(flows)]) {
      const mermaid = toMermaid(machine);
      expect(mermaid.startsWith("stateDiagram-v2\n")).toBe(true);
      for (const node of stateNodesOf(machine)) expect(mermaid).toContain(node.key);
      expect(transitionRows(machine)).toHaveLength(transitionsOf(machine).length);
    }
    const lifecycle = toMermaid(authMachine);
    const flow = toMermaid(authorizationCodeFlow);
    // every invoked actor and named delay appears
    for (const name of ["authorizationCode", "refreshToken"])
      expect(lifecycle).toContain(`invoke ${name}`);
    for (const name of ["discoverResource", "register", "authorize", "exchangeCode"])
      expect(flow).toContain(`invoke ${name}`);
    for (const delay of ["refreshDue", "refreshBackoff", "retryCooldown"])
      expect(lifecycle).toContain(`after ${delay}`);
    expect(flow).toContain("after authorizationTimeout");
    expect(lifecycle).toContain("[stepUpAllowed]");
  });
});
