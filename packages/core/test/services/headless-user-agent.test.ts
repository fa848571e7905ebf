/** The library's headless UserAgent against scripted authorization endpoints. */
import { type ScriptedServer, startScriptedServer } from "@authchart/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headlessUserAgent } from "../../src/services/headless-user-agent.js";
import { redirectUri } from "../support.js";

let as: ScriptedServer;
beforeAll(async () => {
  as = await startScriptedServer({
    "/authorize": (req) => ({
      status: 302,
      headers: { location: `${redirectUri}?code=c1&state=${req.query.get("state") ?? ""}` },
    }),
    "/login": {
      status: 302,
      headers: { location: "/consent", "set-cookie": "sid=abc; Path=/; HttpOnly" },
    },
    "/consent": (req) =>
      req.headers.cookie === "sid=abc"
        ? { status: 303, headers: { location: `${redirectUri}?code=c2` } }
        : { status: 400, body: "no session" },
    "/elsewhere": { status: 302, headers: { location: "https://evil.example/phish" } },
    "/page": { status: 200, headers: { "content-type": "text/html" }, body: "<form>log in</form>" },
    "/loop": { status: 302, headers: { location: "/loop" } },
  });
});
afterAll(() => as.close());

const run = (path: string) =>
  headlessUserAgent()({ url: `${as.origin}${path}`, redirectUri }, new AbortController().signal);

describe("headlessUserAgent", () => {
  it("reads the callback from the Location without requesting it", async () => {
    expect(await run("/authorize?state=s1")).toBe(`${redirectUri}?code=c1&state=s1`);
  });
  it("follows redirects inside the authorization server, carrying its cookies", async () => {
    expect(await run("/login")).toBe(`${redirectUri}?code=c2`);
  });
  it("refuses a redirect to another origin that is not the redirect URI", async () => {
    await expect(run("/elsewhere")).rejects.toThrow(
      "redirected to https://evil.example, which is not the redirect URI",
    );
  });
  it("fails clearly when a page wants a user", async () => {
    await expect(run("/page")).rejects.toThrow("answered 200 without redirecting");
  });
  it("bounds redirects", async () => {
    await expect(run("/loop")).rejects.toThrow("too many redirects");
  });
  it("refuses non-http URLs (SPEC X6)", async () => {
    await expect(
      headlessUserAgent()(
        { url: "javascript:alert(1)", redirectUri },
        new AbortController().signal,
      ),
    ).rejects.toThrow("refusing to open a javascript: URL");
  });
});
