/** The README's examples run as written, against the real servers. */
import { connectAgent } from "@authchart/example-agent";
import { program } from "@authchart/example-effect";
import { startTestkit } from "@authchart/testkit";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { redirectUri } from "./support.js";

describe("examples", () => {
  it("agent (Promise API): the MCP SDK client over session.fetch, step-up included", async () => {
    const kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
    const agent = await connectAgent({
      serverUrl: kit.mcpUrl,
      client: { clientName: "example", redirectUris: [redirectUri] },
      userAgent: (prompt) => kit.user.authorize(prompt.url),
    });
    try {
      expect(await agent.call("echo", { text: "hi" })).toBe("hi");
      expect(await agent.call("write-note", { text: "note" })).toContain("note");
      expect(kit.user.authorizations).toBe(2);
    } finally {
      await agent.close();
      await kit.close();
    }
  });

  it("effect (AuthSession layer): results, and a typed failure in the error channel", async () => {
    const kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
    try {
      const options = {
        serverUrl: kit.mcpUrl,
        client: { clientName: "example", redirectUris: [redirectUri] as [string] },
        userAgent: (prompt: { url: string }) => kit.user.authorize(prompt.url),
      };
      const [first, second] = await Effect.runPromise(program(options));
      expect(first).toBe("from Effect");
      expect(second).toContain("a note");
      kit.user.policy = { grant: "deny" };
      const denied = await Effect.runPromise(Effect.either(program(options)));
      expect(Either.isLeft(denied) && denied.left._tag).toBe("AuthorizationDenied");
    } finally {
      await kit.close();
    }
  });
});
