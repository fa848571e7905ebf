/**
 * `authServer.browserPages`: oidc-provider's own HTML login and consent pages for a real browser
 * (test/browser drives them in chromium), while the headless user keeps answering over JSON.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startTestkit, type Testkit } from "../src/index.js";
import { authorizationRequest, obtainTokens, register } from "./helpers.js";

let kit: Testkit | undefined;

afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

/** The cookies a response sets, as a Cookie header (one origin, paths ignored: enough here). */
const cookiesOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");

describe("authServer.browserPages", () => {
  it.each(["", "/tenant1"])(
    "serves an HTML sign-in form at the interaction URL (issuer path %j)",
    async (issuerPath) => {
      kit = await startTestkit({ authServer: { browserPages: true, issuerPath } });
      const { body: client } = await register(kit);
      const request = await authorizationRequest(kit, client.client_id, "mcp:read");
      const start = await fetch(request.url, { redirect: "manual" });
      expect(start.status).toBe(303);
      const interaction = new URL(start.headers.get("location") ?? "", request.url);
      expect(interaction.pathname).toMatch(new RegExp(`^${issuerPath}/interaction/[^/]+$`));

      const page = await fetch(interaction, {
        headers: { accept: "text/html", cookie: cookiesOf(start) },
      });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const html = await page.text();
      expect(html).toContain("<h1>Sign-in</h1>");
      expect(html).toContain('name="login"');
      expect(html).toContain('type="password"');
      expect(html).toContain(`action="${interaction.href}"`);
      expect(kit.count("interaction")).toBe(1);
    },
  );

  it("keeps the headless user working, policy included", async () => {
    kit = await startTestkit({
      authServer: { browserPages: true },
      user: { grant: "all-but", decline: ["mcp:write"] },
    });
    const { tokens } = await obtainTokens(kit, "mcp:read mcp:write");
    expect(tokens.scope).toBe("mcp:read");
    expect(kit.user.authorizations).toBe(1);

    kit.user.policy = { grant: "deny" };
    kit.user.resetSession();
    const { body: client } = await register(kit);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read");
    const callback = new URL(await kit.user.authorize(request.url));
    expect(callback.searchParams.get("error")).toBe("access_denied");
  });
});
