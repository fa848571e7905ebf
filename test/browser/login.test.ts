/**
 * A real browser signs in: Debian's chromium, driven by playwright-core, is the "system browser"
 * of `nodeUserAgent` (RFC 8252 §7.3). It opens the authorization URL, a person's keystrokes fill
 * oidc-provider's own login and consent pages (testkit `authServer.browserPages`), the AS
 * redirects it to the loopback receiver, whose page says the tab can be closed; the session is
 * then authorized and its token works at the MCP server.
 */
import { writeFile } from "node:fs/promises";
import * as net from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createSession, type Session } from "@authchart/core";
import { nodeUserAgent } from "@authchart/node";
import { startTestkit, type Testkit } from "@authchart/testkit";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { callTool, toolText } from "../e2e/support.js";
import {
  CHROMIUM_SETUP_TIMEOUT_MILLIS,
  ensureChromium,
  type LaunchedChromium,
  launchChromium,
} from "./chromium.js";

/** A port free right now, for a fixed redirect URI (nodeUserAgent refuses an ephemeral `:0`). */
const freePort = async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

/** What the user agent tells the user (stderr, for a person). */
const sink = () => {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { stream, text: () => text };
};

/** Set AUTHCHART_SCREENSHOT_DIR to keep the screenshots (to look at what the browser showed). */
const keepScreenshot = async (name: string, png: Buffer) => {
  const dir = process.env.AUTHCHART_SCREENSHOT_DIR;
  if (dir) await writeFile(join(dir, name), png);
};

let browser: LaunchedChromium | undefined;
let skipReason = "chromium is not available";

beforeAll(async () => {
  const availability = await ensureChromium();
  if (!availability.available) {
    skipReason = availability.reason;
    return;
  }
  browser = await launchChromium(availability.executablePath);
}, CHROMIUM_SETUP_TIMEOUT_MILLIS);

afterAll(async () => {
  await browser?.close();
  browser = undefined;
});

describe("a real browser signs in through nodeUserAgent", () => {
  let kit: Testkit | undefined;
  let session: Session | undefined;
  afterEach(async () => {
    await session?.close();
    await kit?.close();
    session = undefined;
    kit = undefined;
  });

  it("fills oidc-provider's login and consent pages and lands on the loopback receiver; the session is authorized", async (context) => {
    if (browser === undefined) return context.skip(skipReason);
    const chromium = browser;
    const k = await startTestkit({ authServer: { browserPages: true } });
    kit = k;
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;

    // The system browser: a new tab on the authorization URL.
    const launched: string[] = [];
    let opened: (page: Page) => void = () => {};
    const pageOpened = new Promise<Page>((resolve) => {
      opened = resolve;
    });
    const launch = async (url: string) => {
      launched.push(url);
      const page = await chromium.context.newPage();
      await page.goto(url);
      opened(page);
    };

    const told = sink();
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart browser e2e", redirectUris: [redirectUri] },
      userAgent: nodeUserAgent({ launch, headless: false, output: told.stream }),
    });
    session = s;
    const authorizing = s.authorize(["mcp:read", "mcp:write"]);
    const page = await Promise.race([
      pageOpened,
      authorizing.then(() => {
        throw new Error("the session was authorized without the browser");
      }),
    ]);
    expect(launched).toHaveLength(1);
    expect(new URL(launched[0] ?? "").origin).toBe(k.authServerOrigin);
    expect(told.text()).toContain("Opening the browser to sign in");

    // oidc-provider's sign-in page, typed into like a person would.
    await page.getByRole("heading", { name: "Sign-in" }).waitFor();
    await page.getByPlaceholder("Enter any login").pressSequentially("alice");
    await page.getByPlaceholder("and password").pressSequentially("correct horse battery");
    await page.getByRole("button", { name: "Sign-in" }).click();

    // The consent page lists what the client asks for, for the MCP server.
    await page.getByRole("heading", { name: "Authorize" }).waitFor();
    const card = page.locator(".login-card");
    await card.getByText(`${k.mcpUrl}:`, { exact: true }).waitFor();
    await card.getByText("mcp:read", { exact: true }).waitFor();
    await card.getByText("mcp:write", { exact: true }).waitFor();
    await keepScreenshot("consent.png", await page.screenshot({ fullPage: true }));
    await page.getByRole("button", { name: "Continue" }).click();

    // The AS redirects the browser to the loopback receiver, which says the tab can be closed.
    await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
    await page.getByRole("heading", { name: "Authorization received" }).waitFor();
    await page.getByText("You can close this tab and return to the application.").waitFor();
    const screenshot = await page.screenshot({ fullPage: true });
    expect(screenshot.byteLength).toBeGreaterThan(0);
    await keepScreenshot("callback.png", screenshot);

    await authorizing;
    const state = s.state();
    expect(state.value).toBe("authorized");
    expect([...(state.token?.scopes ?? [])].sort()).toEqual(["mcp:read", "mcp:write"]);
    // The pages were the AS's own (the headless user answered nothing).
    expect(k.user.authorizations).toBe(0);
    expect(k.count("interaction")).toBeGreaterThanOrEqual(4);

    // A tool call with the token the browser's consent produced.
    const result = await callTool(s, k.mcpUrl, "echo", { text: "from a real browser" });
    expect(result.status).toBe(200);
    expect(toolText(result.body.result ?? {})).toBe("from a real browser");

    // Nothing the browser tried to load left this machine but the pages' web font import.
    for (const url of chromium.blocked) {
      expect(new URL(url).hostname).toBe("fonts.googleapis.com");
    }
    await page.close();
  }, 60_000);

  it("a person who cancels on the consent page lands on the receiver's 'not completed' page; authorize() rejects with access_denied", async (context) => {
    if (browser === undefined) return context.skip(skipReason);
    const chromium = browser;
    const k = await startTestkit({ authServer: { browserPages: true } });
    kit = k;
    const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
    let opened: (page: Page) => void = () => {};
    const pageOpened = new Promise<Page>((resolve) => {
      opened = resolve;
    });
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart browser e2e", redirectUris: [redirectUri] },
      userAgent: nodeUserAgent({
        launch: async (url) => {
          const page = await chromium.context.newPage();
          await page.goto(url);
          opened(page);
        },
        headless: false,
        output: sink().stream,
      }),
    });
    session = s;
    const authorizing = s.authorize(["mcp:read"]);
    const outcome = authorizing.then(
      () => undefined,
      (error: unknown) => error,
    );
    const page = await pageOpened;
    await page.getByPlaceholder("Enter any login").pressSequentially("carol");
    await page.getByPlaceholder("and password").pressSequentially("a password");
    await page.getByRole("button", { name: "Sign-in" }).click();
    await page.getByRole("heading", { name: "Authorize" }).waitFor();
    await page.getByRole("link", { name: "[ Cancel ]" }).click();

    await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
    await page.getByRole("heading", { name: "Authorization not completed" }).waitFor();
    await page.getByText("access_denied", { exact: false }).waitFor();
    const error = await outcome;
    expect(error).toMatchObject({ _tag: "AuthorizationDenied", error: "access_denied" });
    expect(s.state().token).toBeUndefined();
    await page.close();
  }, 60_000);
});
