/**
 * The flow report, end to end: a step-up flow (a 403 insufficient_scope answered by a second
 * authorization, never a refresh) runs against real servers (@authchart/testkit: oidc-provider
 * and the MCP SDK server) with a confidential client, recorded by core's recorder into
 * @authchart/node's trace file. The transport under the recorder notes every secret that crossed
 * the wire — access and refresh tokens, the client secret, the authorization codes and the PKCE
 * verifiers — and neither the JSON lines nor the report contain one. `authchart trace FILE --html
 * OUT` (a child process, the built bin) prints the timeline and writes the page, which Debian's
 * chromium (playwright-core, as the other browser tests) opens offline: every request of the page
 * but the file itself is refused and counted (there must be none), and the page shows the states
 * and the exchanges of the flow; its screenshot is a real image.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { createSession } from "@authchart/core";
import { createRecorder } from "@authchart/core/record";
import { openTraceFile } from "@authchart/node";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, redirectUri } from "../e2e/support.js";
import {
  CHROMIUM_SETUP_TIMEOUT_MILLIS,
  ensureChromium,
  type LaunchedChromium,
  launchChromium,
} from "./chromium.js";

const CLI_BIN = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));
const run = promisify(execFile);

let browser: LaunchedChromium | undefined;
let skipReason = "chromium is not available";
let kit: Testkit | undefined;
let directory = "";

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "authchart-report-"));
  const availability = await ensureChromium();
  if (!availability.available) {
    skipReason = availability.reason;
    return;
  }
  browser = await launchChromium(availability.executablePath);
}, CHROMIUM_SETUP_TIMEOUT_MILLIS);

afterAll(async () => {
  await browser?.close();
  await kit?.close();
  if (directory !== "") await rm(directory, { recursive: true, force: true });
});

/** Every secret that crossed the wire, by kind. */
const secrets = {
  accessToken: new Set<string>(),
  refreshToken: new Set<string>(),
  clientSecret: new Set<string>(),
  code: new Set<string>(),
  codeVerifier: new Set<string>(),
};

const bodyText = async (
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<string | undefined> => {
  if (input instanceof Request) return input.clone().text();
  const body = init?.body;
  if (typeof body === "string") return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array || body instanceof ArrayBuffer)
    return new TextDecoder().decode(body);
  return undefined;
};

/** The real transport, noting the secrets in request bodies and in token/registration answers. */
const noteSecrets: typeof fetch = async (input, init) => {
  const text = await bodyText(input, init);
  if (text !== undefined && !text.trimStart().startsWith("{")) {
    const form = new URLSearchParams(text);
    const code = form.get("code");
    const verifier = form.get("code_verifier");
    if (code) secrets.code.add(code);
    if (verifier) secrets.codeVerifier.add(verifier);
  }
  const response = await fetch(input, init);
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    const json = (await response
      .clone()
      .json()
      .catch(() => undefined)) as Record<string, unknown> | undefined;
    if (typeof json?.access_token === "string") secrets.accessToken.add(json.access_token);
    if (typeof json?.refresh_token === "string") secrets.refreshToken.add(json.refresh_token);
    if (typeof json?.client_secret === "string") secrets.clientSecret.add(json.client_secret);
  }
  return response;
};

const allSecrets = () => Object.values(secrets).flatMap((set) => [...set]);

describe("a recorded step-up, reported", () => {
  const trace = () => join(directory, "step-up.jsonl");
  const report = () => join(directory, "report.html");

  it("records the flow: the JSON lines hold none of the secrets that crossed the wire", async () => {
    const k = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
    kit = k;
    const file = openTraceFile(trace());
    const recorder = createRecorder({ serverUrl: k.mcpUrl, onLine: file.write });
    const session = await createSession({
      serverUrl: k.mcpUrl,
      client: {
        clientName: "authchart report",
        redirectUris: [redirectUri],
        tokenEndpointAuthMethod: "client_secret_basic",
      },
      userAgent: async (prompt) => {
        const callback = await k.user.authorize(prompt.url);
        const code = new URL(callback).searchParams.get("code");
        if (code) secrets.code.add(code);
        return callback;
      },
      ...recorder.sessionOptions(noteSecrets),
    });
    try {
      expect((await callTool(session, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
      expect((await callTool(session, k.mcpUrl, "write-note", { text: "b" })).status).toBe(200);
    } finally {
      await session.close();
    }
    recorder.finish();
    expect(file.close()).toBeUndefined();
    expect(k.user.authorizations).toBe(2);
    for (const [kind, set] of Object.entries(secrets)) expect(set.size, kind).toBeGreaterThan(0);
    const text = await readFile(trace(), "utf8");
    expect(text).toBe(recorder.jsonLines());
    for (const secret of allSecrets()) expect(text.includes(secret)).toBe(false);
    // Each exchange by its phase — the registration too, whose request goes out in the same
    // macrostep that brought the metadata naming its endpoint.
    const phases = recorder
      .lines()
      .flatMap((line) => (line.kind === "http" ? [`${line.phase} ${line.method}`] : []));
    expect(phases.filter((p) => p === "registration POST")).toHaveLength(1);
    expect(phases.filter((p) => p === "token POST")).toHaveLength(2);
    expect(phases.filter((p) => p.startsWith("other"))).toStrictEqual([]);
  });

  it("authchart trace FILE --html OUT: the timeline on stdout, the page written without a secret", async () => {
    const { stdout } = await run(
      process.execPath,
      [CLI_BIN, "trace", trace(), "--html", report()],
      {
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    expect(stdout).toMatch(/· step-up\s+403 insufficient_scope/);
    expect(stdout).toMatch(/authorizationCode\s+authorizing/);
    expect(stdout).toContain("the flow succeeded");
    const html = await readFile(report(), "utf8");
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(http/i);
    for (const secret of allSecrets()) expect(html.includes(secret)).toBe(false);
  });

  it("the page opens offline in chromium: the states, the path and the exchanges by phase", async (context) => {
    if (browser === undefined) return context.skip(skipReason);
    const url = pathToFileURL(report()).href;
    const page = await browser.context.newPage();
    const requested: string[] = [];
    page.on("request", (request) => {
      if (request.url() !== url) requested.push(request.url());
    });
    await page.route("**/*", (route) =>
      route.request().url() === url ? route.continue() : route.abort("internetdisconnected"),
    );
    await browser.context.setOffline(true);
    try {
      await page.goto(url);
      await expect.poll(() => page.locator("h1").textContent()).toContain("authchart trace");
      expect(await page.locator("#verdict").textContent()).toBe("The flow succeeded.");
      // The lifecycle and the authorization-code flow, drawn, with this run's path.
      const lifecycle = page.locator("#chart-authchart svg");
      for (const state of ["unauthorized", "obtaining", "authorized"])
        expect(
          await lifecycle.locator(`g.state.visited[data-state="authchart.${state}"]`).count(),
          state,
        ).toBe(1);
      expect(
        await lifecycle.locator('g.state.visited[data-state="authchart.refreshing"]').count(),
      ).toBe(0);
      expect(await lifecycle.locator("g.transition.taken").count()).toBeGreaterThanOrEqual(3);
      const flow = page.locator("#chart-authorizationCode svg");
      for (const state of ["resourceMetadata", "registering", "authorizing", "exchangingCode"])
        expect(
          await flow.locator(`g.state.visited[data-state="authorizationCode.${state}"]`).count(),
          state,
        ).toBe(1);
      // The exchanges, grouped by phase, and the user's two sign-ins.
      const sequence = page.locator("svg.sequence");
      const phases = await sequence
        .locator("g.phase")
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("data-phase")));
      expect(new Set(phases)).toEqual(
        new Set(["discovery", "registration", "authorization", "token", "resource"]),
      );
      expect(await sequence.locator('g.exchange[data-phase="token"]').count()).toBe(2);
      expect(await sequence.locator('g.exchange[data-phase="registration"]').count()).toBe(1);
      expect(await sequence.locator("g.exchange.user").count()).toBe(2);
      expect(await sequence.textContent()).toContain("403");
      expect(await page.locator("#requests tr.request").count()).toBe(
        (await readFile(trace(), "utf8")).split("\n").filter((l) => l.includes('"kind":"http"'))
          .length,
      );
      expect(await page.locator("#timeline").textContent()).toContain("step-up");
      const png = await page.screenshot({ fullPage: true });
      expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
      expect(png.length).toBeGreaterThan(20_000);
      const dir = process.env.AUTHCHART_SCREENSHOT_DIR;
      // The README's picture: the top of the page (the verdict, the charts, the exchanges).
      if (dir)
        await writeFile(
          join(dir, "report.png"),
          await page.screenshot({
            fullPage: true,
            clip: { x: 0, y: 0, width: 1280, height: 1900 },
          }),
        );
      expect(requested).toEqual([]);
    } finally {
      await browser.context.setOffline(false);
      await page.close();
    }
  });
});
