/**
 * Issue "done when": the end-to-end run calls the protected MCP tool with a token the real
 * authorization server issued, and each step's request is counted from the servers' own log.
 */
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { runLifecycle } from "../src/lifecycle.js";

let kit: Testkit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

const run = async (options: TestkitOptions = {}, scopes?: readonly string[]) => {
  kit = await startTestkit(options);
  const started = kit;
  const steps: string[] = [];
  const details = new Map<string, string>();
  const result = await Effect.runPromise(
    runLifecycle({
      serverUrl: started.mcpUrl,
      settings: {
        clientName: "authchart e2e",
        redirectUris: ["http://127.0.0.1:33418/callback"],
        scopes,
      },
      tool: { name: "echo", arguments: { text: "through the lifecycle" } },
      openAuthorizationUrl: (url) => started.user.authorize(url),
      log: (step, detail) => {
        steps.push(step);
        details.set(step, detail);
      },
    }),
  );
  return { kit: started, result, steps, details };
};

describe("the lifecycle against real servers", () => {
  it("discover -> register -> authorize -> exchange -> protected tool call", async () => {
    const { kit, result, steps, details } = await run();
    expect(result.toolText).toBe("through the lifecycle");
    expect(steps).toEqual([
      "challenge",
      "resource metadata",
      "authorization server metadata",
      "scopes",
      "client",
      "authorization",
      "tokens",
      "tool call",
    ]);
    // The minimum of requests: one of each protocol step.
    expect(kit.count("prm")).toBe(1);
    expect(kit.count("as-metadata")).toBe(1);
    expect(kit.count("registration")).toBe(1);
    expect(kit.count("token")).toBe(1);
    expect(kit.user.authorizations).toBe(1);
    // S1: the challenge's scope, plus offline_access because the AS lists it (T10). oidc-provider
    // grants offline_access only with prompt=consent (OIDC Core §11), so the grant lacks it.
    expect(details.get("scopes")).toBe(
      "mcp:read mcp:write mcp:admin offline_access from challenge + offline_access",
    );
    expect(result.tokens.scopes).toEqual(["mcp:read", "mcp:write", "mcp:admin"]);
    expect(result.tokens.refreshToken).toBeDefined();
  });

  it("Fastmail-like: the AS requires scope at registration and an issuer with a path", async () => {
    const { result, kit } = await run({
      authServer: {
        requireScopeOnRegistration: true,
        issuerPath: "/tenant1",
        metadata: "oidc-appended-only",
      },
      mcp: {
        resourceMetadataInChallenge: false,
        challengeScope: "none",
        prmLocation: "root",
        challengeSchemes: "several",
      },
    });
    expect(result.toolText).toBe("through the lifecycle");
    // S1 step 2: no challenge scope -> scopes_supported of the resource.
    expect(result.tokens.scopes).toEqual(
      expect.arrayContaining(["mcp:read", "mcp:write", "mcp:admin"]),
    );
    expect(kit.count("registration")).toBe(1);
  });
});
