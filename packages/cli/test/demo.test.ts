/** `authchart demo` as a user runs it: the whole lifecycle printed as it happens; exit 0. */
import { describe, expect, it } from "vitest";
import { ANSI, runCli } from "./support.js";

describe("authchart demo", () => {
  it("walks discovery, registration, authorization, step-up, refresh and a declined scope", async () => {
    const run = await runCli(["demo"]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    // numbered scenes, each decision with its reason
    expect(out).toMatch(/^1\. connect and call echo/m);
    expect(out).toMatch(/· discover\s+the server answered 401/);
    expect(out).toMatch(/· client\s+dynamic client/);
    // the 403 and the step-up, never a refresh in that scene
    const stepUp = out.slice(out.indexOf("2. call write-note"), out.indexOf("3. "));
    expect(stepUp).toMatch(/· step-up\s+403 insufficient_scope/);
    expect(stepUp).not.toMatch(/· refresh\b/);
    // the expiry and the refresh
    const refresh = out.slice(out.indexOf("3. "), out.indexOf("4. "));
    expect(refresh).toMatch(/· refresh\s+401 on the current token/);
    expect(refresh).toMatch(/· refreshed\s+a new access token/);
    // the declined scope ends in the named error
    expect(out).toMatch(/declines mcp:admin/);
    expect(out).toMatch(/✗ ScopeDeclined: the authorization server did not grant mcp:admin/);
    // the counts at the end
    expect(out).toMatch(/3 authorizations, 2 refreshes, 1 registration/);
    expect(out).not.toMatch(ANSI);
    expect(run.stderr).not.toContain("WARNING");
  });

  it("--json: one document with every scene's decisions and the counts", async () => {
    const run = await runCli(["demo", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(document.ok).toBe(true);
    const decisions = document.scenes.map((scene: { trace: { decision: string }[] }) =>
      scene.trace.map((t) => t.decision),
    );
    expect(decisions[1]).toContain("step-up");
    expect(decisions[2]).toContain("refreshed");
    expect(document.scenes[4].outcome.error.tag).toBe("ScopeDeclined");
    expect(document.counts).toMatchObject({ authorizations: 3, refreshes: 2, registrations: 1 });
  });
});
