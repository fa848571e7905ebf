/**
 * One replica of the many-replicas run (the test and `npm run bench:replicas`): SESSIONS
 * authchart sessions for one grant over the shared Redis store and lock, each with CONCURRENCY
 * callers calling a tool back to back once the parent says `go`. It never logs in (interaction
 * "never"): a login here would be the failure under test.
 *
 * Lines in (stdin): `go`; `arm` (pause before the next refresh request this process sends,
 * print `refresh-paused` and wait — the parent kills it there, holding the lock mid-refresh);
 * `disarm`; `continue` (a paused refresh goes on); `stop` (callers finish, the result is printed
 * as one JSON line `{"result":…}`, the process exits).
 *
 * Refresh requests are seen in the session's transport: counted, and their refresh token
 * printed as a short SHA-256 (`refresh <hash>`, never the token) so the parent can check no
 * refresh token was presented twice across replicas.
 *
 * Env: REDIS_URL, PREFIX, MCP_URL, CLIENT_NAME, REDIRECT_URI, SESSIONS, CONCURRENCY,
 * PAUSE_MILLIS, LEASE_MILLIS, REFRESH_SKEW_MILLIS.
 */
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { createSession, type Session } from "@authchart/core";
import { redisAuth } from "../src/layers.js";

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const mcpUrl = env("MCP_URL");
const pauseMillis = Number(process.env.PAUSE_MILLIS ?? "0");

export interface ReplicaResult {
  readonly pid: number;
  readonly calls: number;
  readonly failed: number;
  /** Failed calls by what they failed with (an error's tag, or `HTTP <status>`). */
  readonly failures: Readonly<Record<string, number>>;
  /** Refresh requests this process sent. */
  readonly refreshes: number;
  /** A short SHA-256 of each refresh token this process presented. */
  readonly refreshTokens: readonly string[];
  /** Calls during which the session took up a token another replica refreshed. */
  readonly adoptedCalls: number;
  /** Their durations, milliseconds. */
  readonly adoptedMillis: readonly number[];
  /** The median duration of the other calls, milliseconds. */
  readonly baselineMillis: number;
  readonly logins: number;
}

const auth = await redisAuth({
  url: env("REDIS_URL"),
  prefix: env("PREFIX"),
  operationTimeoutMillis: 3_000,
  lock: { leaseMillis: Number(env("LEASE_MILLIS")) },
});

let armed = false;
let resume: (() => void) | undefined;
let refreshes = 0;
const refreshTokens: string[] = [];
let logins = 0;

/** The sessions' transport: every request as is, refresh requests counted (and paused if armed). */
const transport: typeof globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  if (request.method === "POST" && !request.url.startsWith(mcpUrl)) {
    const form = new URLSearchParams(await request.clone().text());
    const refreshToken = form.get("refresh_token");
    if (form.get("grant_type") === "refresh_token" && refreshToken !== null) {
      if (armed) {
        armed = false;
        process.stdout.write("refresh-paused\n");
        await new Promise<void>((resolve) => {
          resume = resolve;
        });
      }
      refreshes++;
      const hash = createHash("sha256").update(refreshToken).digest("hex").slice(0, 16);
      refreshTokens.push(hash);
      // As it happens: a replica killed later still counts.
      process.stdout.write(`refresh ${hash}\n`);
    }
  }
  return globalThis.fetch(request);
};

const sessions: Session[] = [];
for (let i = 0; i < Number(env("SESSIONS")); i++) {
  sessions.push(
    await createSession({
      serverUrl: mcpUrl,
      store: auth.store,
      lock: auth.lock,
      client: { clientName: env("CLIENT_NAME"), redirectUris: [env("REDIRECT_URI")] },
      interaction: "never",
      userAgent: async () => {
        logins++;
        throw new Error("a replica must not log in");
      },
      // The skew as given (core caps it at half the token's lifetime), not a tenth of the
      // lifetime: short-lived test tokens are refreshed as far ahead as a one-hour token is.
      config: { refreshSkewMillis: Number(env("REFRESH_SKEW_MILLIS")), refreshAheadFraction: 1 },
      fetch: transport,
    }),
  );
}

let calls = 0;
let failed = 0;
const failures: Record<string, number> = {};
const adoptedMillis: number[] = [];
const otherMillis: number[] = [];
let stopping = false;

const fail = (what: string) => {
  failed++;
  failures[what] = (failures[what] ?? 0) + 1;
};

const call = async (session: Session, n: number) => {
  const versionBefore = session.state().token?.version;
  const refreshesBefore = refreshes;
  const started = performance.now();
  try {
    const response = await session.fetch(mcpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: n,
        method: "tools/call",
        params: { name: "echo", arguments: { text: `call ${n}` } },
      }),
    });
    const text = await response.text();
    calls++;
    if (response.status !== 200) return fail(`HTTP ${response.status}`);
    if (!text.includes(`call ${n}`)) return fail("unexpected answer");
  } catch (error) {
    calls++;
    // core's errors carry no secret in their message (its redaction rule): the tag and the
    // message say why the call failed.
    return fail(
      typeof error === "object" && error !== null && "_tag" in error
        ? `${String(error._tag)}: ${error instanceof Error ? error.message.slice(0, 200) : ""}`
        : error instanceof Error
          ? error.name
          : "thrown",
    );
  }
  const millis = performance.now() - started;
  const adopted = session.state().token?.version !== versionBefore && refreshes === refreshesBefore;
  (adopted ? adoptedMillis : otherMillis).push(millis);
};

/**
 * The oldest token version this process's sessions hold, printed when it changes (looked at
 * every 50 ms while calls run: the parent restarts Redis once every replica holds the newest).
 */
let held: number | undefined;
const reportHeld = () => {
  const oldest = Math.min(...sessions.map((session) => session.state().token?.version ?? 0));
  if (oldest !== held) {
    held = oldest;
    process.stdout.write(`holds ${oldest}\n`);
  }
};

const caller = async (session: Session, id: number) => {
  for (let n = 0; !stopping; n++) {
    await call(session, id * 1_000_000 + n);
    if (pauseMillis > 0) await new Promise((resolve) => setTimeout(resolve, pauseMillis));
  }
};

const median = (values: readonly number[]) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

let running: Promise<unknown> | undefined;
let reporting: ReturnType<typeof setInterval> | undefined;
const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
for await (const line of lines) {
  const command = line.trim();
  if (command === "go" && running === undefined) {
    const concurrency = Number(env("CONCURRENCY"));
    reporting = setInterval(reportHeld, 50);
    running = Promise.all(
      sessions.flatMap((session, s) =>
        Array.from({ length: concurrency }, (_, c) => caller(session, s * concurrency + c)),
      ),
    );
  } else if (command === "arm") armed = true;
  else if (command === "disarm") armed = false;
  else if (command === "continue") resume?.();
  else if (command === "stop") break;
}
stopping = true;
clearInterval(reporting);
armed = false;
resume?.();
await running;
const result: ReplicaResult = {
  pid: process.pid,
  calls,
  failed,
  failures,
  refreshes,
  refreshTokens,
  adoptedCalls: adoptedMillis.length,
  adoptedMillis,
  baselineMillis: median(otherMillis),
  logins,
};
process.stdout.write(`${JSON.stringify({ result })}\n`);
await Promise.all(sessions.map((session) => session.close()));
await auth.close();
process.exit(0);
