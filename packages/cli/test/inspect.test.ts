/**
 * `--inspect`: the command run as a child process against the testkit's real servers, its
 * inspection events sent to a WebSocket receiver on loopback here. A login and a call that
 * refreshes reach it as actors (the lifecycle, its child flow, the steps), events and snapshots;
 * no frame holds the tokens of the store, the authorization code of the callback, or the code
 * verifier (found by hashing every verifier-shaped string in the frames against the code_challenge
 * of the sign-in address: RFC 7636 §4.2); stdout stays the command's. A bad or unreachable
 * inspector is a usage error (exit 2), found before the session starts.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { Effect, Option } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { parseInspectTarget, startInspector } from "../src/inspect.js";
import { Output } from "../src/output.js";
import { freePort, runCli } from "./support.js";

let kit: Testkit;
let configDir: string;
let server: WebSocketServer;
let inspectUrl: string;
/** The frames of each connection, in order. */
const connections: string[][] = [];

const SIGN_IN = /Open this address in a browser to sign in:\s+(\S+)/g;
/** What the flows handled: codes, PKCE challenges, tokens. */
const codes: string[] = [];
const challenges: string[] = [];
const tokens = new Set<string>();

/** The CLI with its sign-ins answered by the testkit's user, the code and challenge kept. */
const cli = (args: readonly string[]) => {
  let answered = 0;
  return runCli(args, {
    configDir,
    onStderr: (stderr, child) => {
      const addresses = [...stderr.matchAll(SIGN_IN)].map((match) => match[1] ?? "");
      for (const address of addresses.slice(answered)) {
        answered++;
        challenges.push(new URL(address).searchParams.get("code_challenge") ?? "none");
        void kit.user.authorize(address).then((callback) => {
          codes.push(new URL(callback).searchParams.get("code") ?? "none");
          child.stdin?.write(`${callback}\n`);
        });
      }
    },
  });
};

/** The tokens of the store now (they rotate: kept after each command). */
const keepStoredTokens = async () => {
  const walk = (value: unknown, name: string) => {
    if (typeof value === "string" && ["accessToken", "refreshToken"].includes(name))
      tokens.add(value);
    else if (typeof value === "object" && value !== null)
      for (const [key, inner] of Object.entries(value)) walk(inner, key);
  };
  walk(JSON.parse(await readFile(path.join(configDir, "secrets.json"), "utf8")), "");
};

interface Frame {
  readonly type: string;
  readonly name?: string;
  readonly sessionId: string;
  readonly parentId?: string;
  readonly event?: { readonly type: string };
}

const s256 = (value: string) => createHash("sha256").update(value).digest("base64url");

/** Every secret the flows handled is absent from `wire`, the verifier by its challenge. */
const expectNoSecret = (wire: string) => {
  for (const secret of [...tokens, ...codes])
    expect(wire.includes(secret), "a frame carries a token or a code").toBe(false);
  // RFC 7636 §4.1: a verifier is 43-128 unreserved characters.
  const shaped = new Set(wire.match(/[A-Za-z0-9\-._~]{43,128}/g) ?? []);
  for (const candidate of shaped)
    expect(challenges.includes(s256(candidate)), "a frame carries a code verifier").toBe(false);
};

beforeAll(async () => {
  kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
  configDir = await mkdtemp(path.join(tmpdir(), "authchart-inspect-"));
  server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  server.on("connection", (socket) => {
    const frames: string[] = [];
    connections.push(frames);
    socket.on("message", (data) => frames.push(String(data)));
  });
  inspectUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await kit?.close();
  await new Promise((resolve) => server?.close(resolve));
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

describe("--inspect ws://…", () => {
  it("login: the lifecycle, its flow and the steps reach the inspector, no secret does", async () => {
    const run = await cli([
      "login",
      kit.mcpUrl,
      "--scope",
      "mcp:read",
      "--headless",
      "--port",
      String(await freePort()),
      "--inspect",
      inspectUrl,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`inspect: watch this flow in the inspector at ${inspectUrl}/`);
    expect(codes).toHaveLength(1);
    await keepStoredTokens();
    expect(tokens.size).toBe(2);

    expect(connections).toHaveLength(1);
    const raw = connections[0] ?? [];
    const frames = raw.map((frame) => JSON.parse(frame) as Frame);
    const actors = frames.filter((f) => f.type === "@xstate.actor");
    const root = actors.find((a) => a.parentId === undefined);
    expect(root?.name).toBe("authchart");
    const flow = actors.find((a) => a.name === "flow");
    expect(flow?.parentId).toBe(root?.sessionId);
    expect(actors.filter((a) => a.parentId === flow?.sessionId).map((a) => a.name)).toEqual([
      "discoverResource",
      "discoverAuthServer",
      "register",
      "authorize",
      "exchangeCode",
    ]);
    expect(frames.filter((f) => f.type === "@xstate.snapshot").length).toBeGreaterThan(10);
    expect(frames.map((f) => f.event?.type)).toContain("xstate.done.actor.flow");
    expect(raw.join("\n")).toContain(kit.issuer);
    expectNoSecret(raw.join("\n"));
  });

  it("call after the token expired: the refresh as its own actor; --json keeps stdout one document", async () => {
    kit.expireAccessTokens();
    const run = await cli([
      "call",
      kit.mcpUrl,
      "echo",
      '{"text":"watched"}',
      "--non-interactive",
      "--json",
      "--inspect",
      inspectUrl,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, tool: "echo" });
    expect(kit.count("token", { grantType: "refresh_token" })).toBe(1);
    await keepStoredTokens();
    expect(tokens.size).toBe(4);

    expect(connections).toHaveLength(2);
    const raw = connections[1] ?? [];
    const actors = raw.map((frame) => JSON.parse(frame) as Frame);
    const root = actors.find((a) => a.type === "@xstate.actor" && a.parentId === undefined);
    expect(
      actors.some(
        (a) =>
          a.type === "@xstate.actor" && a.name === "refreshToken" && a.parentId === root?.sessionId,
      ),
    ).toBe(true);
    expectNoSecret(raw.join("\n"));
  });
});

describe("--inspect, wrong", () => {
  it("neither stately nor a WebSocket URL: a usage error that hides a password", async () => {
    expect(Effect.runSync(parseInspectTarget("stately"))).toEqual({ kind: "stately" });
    const target = Effect.runSync(parseInspectTarget("wss://inspector.example:8443/x"));
    expect(target.kind === "websocket" && target.url.href).toBe("wss://inspector.example:8443/x");
    for (const value of ["http://127.0.0.1:1/", "https://u:hunter2@example.com/", "8080", ""]) {
      const error = Effect.runSync(Effect.flip(parseInspectTarget(value)));
      expect(error._tag).toBe("UsageError");
      expect(error.message).toContain("is neither");
      expect(error.message).not.toContain("hunter2");
    }
  });

  it("nothing listening at the URL: a usage error that names it without its password", async () => {
    const port = await freePort();
    const output = Output.make({ json: true });
    const error = await Effect.runPromise(
      Effect.flip(
        Effect.scoped(startInspector(Option.some(`ws://user:hunter2@127.0.0.1:${port}`), output)),
      ),
    );
    expect(error._tag).toBe("UsageError");
    expect(error.message).toContain(`ws://127.0.0.1:${port}/`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(`${error.message} ${error.hint}`).not.toContain("hunter2");
  });
});
