/**
 * A session watched live, the way the README tells library users to: @statelyai/inspect's own
 * WebSocket inspector with core's inspectorOptions(), in a plain Node program
 * (fixtures/inspected-session.mjs says why not in this process), sending to a WebSocket receiver
 * on loopback here (the `ws` server @statelyai/inspect's relay is built on). A full lifecycle against the testkit's
 * real servers — discovery, registration with a client secret, authorization with PKCE, DPoP, a
 * step-up, a refresh with rotation, a denied authorization — reaches the receiver as actors (the
 * lifecycle, its child flows, their steps), events and snapshots, and no frame carries any of the
 * secrets the flow handled: read off the wire as they went by (token and registration answers,
 * token request bodies, callback URLs) and from the store (the DPoP private key).
 */
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { inspectorOptions, sanitizeContext, sanitizeEvent } from "@authchart/core";
import { createInspector } from "@statelyai/inspect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocketServer } from "ws";
import { createActor, fromPromise, setup, toPromise } from "xstate";

const program = fileURLToPath(new URL("./fixtures/inspected-session.mjs", import.meta.url));

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A WebSocket receiver on loopback that keeps every text frame as it arrived. */
const startReceiver = async () => {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", resolve));
  const frames: string[] = [];
  server.on("connection", (socket) => socket.on("message", (data) => frames.push(String(data))));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    frames,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
};

interface Frame {
  readonly type: string;
  readonly name?: string;
  readonly sessionId: string;
  readonly parentId?: string;
  readonly event?: { readonly type: string };
  readonly snapshot?: { readonly value?: unknown; readonly status?: string };
}

describe("the Stately inspector, live over a WebSocket", () => {
  it("gets the actors, events and snapshots of a whole lifecycle, and no secret", async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [program, receiver.url], {
      env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    cleanups.push(() => child.exitCode === null && child.kill());
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    await vi.waitFor(() => expect(stdout).toContain("\n"), { timeout: 20_000, interval: 50 });
    const run = JSON.parse(stdout) as {
      sent: number;
      statuses: number[];
      denied: unknown;
      authorizations: number;
      issuer: string;
      clientId: string;
      secrets: string[];
    };
    expect(run.statuses).toEqual([200, 200, 200]);
    expect(run.denied).toBe("AuthorizationDenied");
    // Two authorizations (the second a step-up), codes and verifiers, three token answers with
    // rotated refresh tokens, the client secret, the DPoP private key.
    expect(run.authorizations).toBeGreaterThanOrEqual(2);
    expect(run.secrets.length).toBeGreaterThanOrEqual(12);
    await vi.waitFor(() => expect(receiver.frames.length).toBe(run.sent), { timeout: 5_000 });
    child.stdin.end("stop\n");
    expect(await exited).toBe(0);

    const frames = receiver.frames.map((raw) => JSON.parse(raw) as Frame);
    const actors = frames.filter((f) => f.type === "@xstate.actor");
    const root = actors.find((a) => a.parentId === undefined);
    expect(root?.name).toBe("authchart");
    // Each flow is its own actor under the lifecycle, each step its own under its flow.
    const flows = actors.filter((a) => a.name === "flow");
    expect(flows.length).toBeGreaterThanOrEqual(3);
    for (const flow of flows) expect(flow.parentId).toBe(root?.sessionId);
    const flowIds = new Set(flows.map((f) => f.sessionId));
    const steps = actors.filter((a) => a.parentId !== undefined && flowIds.has(a.parentId));
    expect(steps.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        "discoverResource",
        "discoverAuthServer",
        "register",
        "authorize",
        "exchangeCode",
      ]),
    );
    expect(actors.some((a) => a.name === "refreshToken" && a.parentId === root?.sessionId)).toBe(
      true,
    );
    // The lifecycle's states, and the flow's, as snapshots.
    const valuesOf = (id: string | undefined) =>
      frames
        .filter((f) => f.type === "@xstate.snapshot" && f.sessionId === id)
        .map((f) => JSON.stringify(f.snapshot?.value));
    expect(valuesOf(root?.sessionId)).toEqual(
      expect.arrayContaining(['{"obtaining":"authorizationCode"}', '"authorized"', '"refreshing"']),
    );
    expect(valuesOf(flows[0]?.sessionId)).toEqual(
      expect.arrayContaining(['"authorizing"', '"exchangingCode"']),
    );
    const eventTypes = frames.filter((f) => f.type === "@xstate.event").map((f) => f.event?.type);
    expect(eventTypes).toEqual(
      expect.arrayContaining(["xstate.done.actor.exchangeCode", "xstate.done.actor.flow"]),
    );

    const wire = receiver.frames.join("\n");
    expect(wire).toContain(run.issuer);
    expect(wire).toContain(run.clientId);
    expect(wire).toContain("<redacted>");
    for (const secret of run.secrets)
      expect(wire.includes(secret), "a frame carries a secret").toBe(false);
  });
});

/** JSON with cycles cut and functions dropped, as an adapter without options would send it. */
const safeStringify = (value: unknown) => {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "function") return undefined;
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
    }
    return v;
  });
};

/**
 * A machine that holds secrets as plain strings — in its context, a step actor's input and its
 * output — which authchart's own machine never does (they are Redacted there): what the options
 * do when something slips.
 */
const careless = setup({
  actors: {
    exchange: fromPromise(async ({ input }: { input: { codeVerifier: string } }) => ({
      access_token: `AT-${input.codeVerifier.length}-plain`,
      expires_in: 60,
    })),
  },
}).createMachine({
  id: "careless",
  context: { refreshToken: "RT-plain-secret", issuer: "https://as.example" },
  initial: "exchanging",
  states: {
    exchanging: {
      invoke: { src: "exchange", input: { codeVerifier: "CV-plain-secret" }, onDone: "done" },
    },
    done: { type: "final" },
  },
});

/** What an inspector with these options sends while `careless` runs to its end. */
const framesOf = async (options: Parameters<typeof createInspector>[1]) => {
  const frames: string[] = [];
  const inspector = createInspector(
    { send: (event) => frames.push(safeStringify(event)) },
    options,
  );
  const actor = createActor(careless, { inspect: inspector.inspect });
  actor.start();
  await toPromise(actor);
  // The inspector hands each event on from a timer.
  await vi.waitFor(() => expect(frames.some((f) => f.includes('"status":"done"'))).toBe(true));
  return frames.join("\n");
};

describe("inspectorOptions()", () => {
  it("keeps a secret out of contexts, events and step actors' input and output", async () => {
    const secrets = ["RT-plain-secret", "CV-plain-secret", "AT-15-plain"];
    const bare = await framesOf(undefined);
    for (const secret of secrets) expect(bare).toContain(secret);
    // sanitizeContext/sanitizeEvent alone miss a step actor's input and output, and the
    // machine's definition (the configuration's values, its context here).
    const contextOnly = await framesOf({ sanitizeContext, sanitizeEvent } as never);
    for (const secret of secrets) expect(contextOnly).toContain(secret);

    const safe = await framesOf(inspectorOptions());
    for (const secret of secrets) expect(safe).not.toContain(secret);
    expect(safe).toContain('"name":"careless"');
    expect(safe).toContain('"name":"0.careless.exchanging"');
    expect(safe).toContain('\\"initial\\":\\"exchanging\\"');
    expect(safe).toContain("https://as.example");
    expect(safe).toContain('"expires_in":60');
  });
});
