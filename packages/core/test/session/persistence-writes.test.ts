/**
 * What a session writes to the store at its quiet states, every saveSession counted and read, for
 * cold, warm, foreign, undecodable, failed, cancelled, logged-out and recovered sessions: each
 * distinct record once, nothing for a session that has learned nothing, nothing for a restored
 * record that did not change (session.ts onSnapshot).
 */
import { Effect, Schema } from "effect";
import { describe, expect, it } from "vitest";
import type { Session } from "../../src/index.js";
import { PersistedSession } from "../../src/internals.js";
import {
  CredentialStore,
  type CredentialStoreService,
} from "../../src/services/credential-store.js";
import { call, kitWith as kit, open, storedRecord as stored } from "./live-support.js";

interface Saved {
  readonly url: string;
  readonly record: Record<string, unknown>;
}

/** A store (a new memory one by default) whose saveSession calls are recorded (decoded JSON), in order. */
const countingStore = (inner: CredentialStoreService = CredentialStore.memory()) => {
  const saves: Saved[] = [];
  const deletes: string[] = [];
  const store: CredentialStoreService = {
    ...inner,
    saveSession: (url, json) => {
      saves.push({ url, record: JSON.parse(json) });
      return inner.saveSession(url, json);
    },
    deleteSession: (url) => {
      deletes.push(url);
      return inner.deleteSession(url);
    },
  };
  return { store, inner, saves, deletes };
};

const keysOf = (saved: Saved) =>
  Object.keys(saved.record)
    .filter((key) => saved.record[key] !== undefined)
    .sort();
const full = ["authServer", "client", "format", "resource", "savedAt", "serverUrl", "token"];
const nothing = ["format", "savedAt", "serverUrl"];
/** Lets queued saves (saving.then chains) run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Fails the running statechart from outside: a challenge event without its challenge, for the
 * current token (so `authorized`'s guards read `challenge.status`; `unauthorized`'s trace does),
 * so the session's error observer replaces the actor.
 */
const failStatechart = (s: Session) => {
  const traces: string[] = [];
  const off = s.onTrace((entry) => traces.push(entry.decision));
  const before = s.actor;
  const tokenVersion = before.getSnapshot().context.token?.version;
  before.send({ type: "challenge.received", challenge: undefined, tokenVersion } as never);
  off();
  return { replaced: s.actor !== before, traces };
};

describe("what a session writes at its quiet states", () => {
  it("cold, watched, never authorizing: zero saveSession calls", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    const seen: string[] = [];
    s.subscribe((state) => seen.push(state.value));
    s.actor.send({ type: "token.accepted", tokenVersion: 1, proven: false } as never);
    await s.close();
    expect(saves).toEqual([]);
    expect(await stored(store, k.mcpUrl)).toBeUndefined();
  }, 60_000);

  it("cold → authorized: exactly one saveSession, the full record; further requests write nothing", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store);
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    // Already authorized: authorize() starts no flow, so nothing new is learned or written.
    await s.authorize();
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    await s.close();
    expect(saves.map(keysOf)).toEqual([full]);
    expect(saves[0]?.url).toBe(k.mcpUrl);
    expect(keysOf(saves[0] as Saved)).toEqual(full);
    expect((saves[0] as Saved).record.serverUrl).toBe(k.mcpUrl);
    // The store holds the last record written.
    expect(JSON.parse((await stored(store, k.mcpUrl)) ?? "{}")).toEqual(saves.at(-1)?.record);
  }, 60_000);

  it("cold → one request that authorizes: exactly one save (the full record)", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store);
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    await s.close();
    expect(saves.map(keysOf)).toEqual([full]);
  }, 60_000);

  it("cold → logout (nothing learned) → authorize: one save; logout writes nothing, deletes the record", async () => {
    const k = await kit();
    const { store, saves, deletes } = countingStore();
    const s = await open(k, store);
    await s.logout();
    expect(saves).toEqual([]);
    expect(deletes).toEqual([k.mcpUrl]);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    await s.close();
    expect(saves.map(keysOf)).toEqual([full]);
  }, 60_000);

  it("authorize → logout → authorize → logout: full, nothing (then deleted), full, nothing (then deleted)", async () => {
    const k = await kit();
    const { store, saves, deletes } = countingStore();
    const s = await open(k, store);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    await s.logout();
    // Before and after the change: the forgotten context is a new quiet record (key ≠ the
    // full one's), written, then deleted by logout itself.
    expect(saves.map(keysOf)).toEqual([full, nothing]);
    expect(deletes).toEqual([k.mcpUrl]);
    expect(await stored(store, k.mcpUrl)).toBeUndefined();
    // Watching a logged-out session writes nothing more.
    expect(s.state().value).toBe("unauthorized");
    await settle();
    expect(saves.length).toBe(2);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full, nothing, full]);
    expect((saves[2] as Saved).record.token).not.toEqual((saves[0] as Saved).record.token);
    await s.logout();
    expect(saves.map(keysOf)).toEqual([full, nothing, full, nothing]);
    expect(deletes).toEqual([k.mcpUrl, k.mcpUrl]);
    await s.close();
    expect(saves.length).toBe(4);
    expect(await stored(store, k.mcpUrl)).toBeUndefined();
  }, 60_000);

  it("warm (restored from a full record) and changing nothing: zero writes, lean or hydrated", async () => {
    const k = await kit();
    const first = countingStore();
    const s = await open(k, first.store);
    await s.authorize();
    await s.close();
    expect(first.saves.length).toBe(1);
    // Same underlying store, fresh counter.
    const second = countingStore(first.inner);
    const before = k.user.authorizations;
    const lean = await open(k, second.store);
    expect((await call(lean, k.mcpUrl)).status).toBe(200);
    await lean.close();
    const hydrated = await open(k, second.store);
    expect(hydrated.state().value).toBe("authorized");
    expect((await call(hydrated, k.mcpUrl)).status).toBe(200);
    await hydrated.close();
    expect(k.user.authorizations).toBe(before);
    expect(second.saves).toEqual([]);
  }, 60_000);

  it("warm from a record of its server URL alone (what a logout's quiet state writes): zero writes", async () => {
    const k = await kit();
    const { store, inner, saves } = countingStore();
    const record = Schema.encodeSync(PersistedSession)({
      format: 1,
      serverUrl: k.mcpUrl,
      savedAt: Date.now(),
    });
    await Effect.runPromise(inner.saveSession(k.mcpUrl, JSON.stringify(record)));
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    await settle();
    expect(saves).toEqual([]);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    await s.close();
  }, 60_000);

  it("stored record for another serverUrl: the first quiet state writes this server's empty record (as before the change), then the full one", async () => {
    const k = await kit();
    const { store, inner, saves } = countingStore();
    const other = "http://127.0.0.1:9/other-mcp";
    const record = Schema.encodeSync(PersistedSession)({
      format: 1,
      serverUrl: other,
      savedAt: Date.now(),
    });
    await Effect.runPromise(inner.saveSession(k.mcpUrl, JSON.stringify(record)));
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    await settle();
    // Old code: lastSaved = restoredKey(foreign) ≠ this context's key → saved. New code: the
    // restored record is defined, so the same (else) branch runs.
    expect(saves.map(keysOf)).toEqual([nothing]);
    expect((saves[0] as Saved).record.serverUrl).toBe(k.mcpUrl);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([nothing, full]);
    await s.close();
  }, 60_000);

  it("stored record undecodable: treated as nothing stored — zero writes until something is learned, then one", async () => {
    const k = await kit();
    const { store, inner, saves } = countingStore();
    await Effect.runPromise(inner.saveSession(k.mcpUrl, '{"format":2,"nonsense":true}'));
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    await settle();
    expect(saves).toEqual([]);
    // The undecodable record stays as it was (nothing overwrote it).
    expect(await stored(store, k.mcpUrl)).toBe('{"format":2,"nonsense":true}');
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    await s.close();
  }, 60_000);

  it("stored text not JSON at all: zero writes while nothing is learned", async () => {
    const k = await kit();
    const { store, inner, saves } = countingStore();
    await Effect.runPromise(inner.saveSession(k.mcpUrl, "not json {"));
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    await s.logout();
    await s.close();
    expect(saves).toEqual([]);
  }, 60_000);

  it("a flow that fails before learning anything (the network down) returns to a quiet state and writes nothing", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store, {
      fetch: async (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        if (url === k.mcpUrl) return fetch(input, init);
        throw new TypeError("fetch failed");
      },
    });
    const response = await call(s, k.mcpUrl).catch((error: unknown) => error);
    expect(response).toBeInstanceOf(Error);
    expect(["failed", "unauthorized"]).toContain(s.state().value);
    expect(s.state().context.resource).toBeUndefined();
    expect(s.state().context.authServer).toBeUndefined();
    await s.authorize().catch(() => undefined);
    await settle();
    await s.close();
    expect(saves).toEqual([]);
  }, 60_000);

  it("a cancelled flow (nothing learned) returns to unauthorized and writes nothing", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    let release: (value: string) => void = () => undefined;
    const s = await open(k, store, {
      userAgent: () =>
        new Promise<string>((resolve) => {
          release = resolve;
        }),
    });
    const pending = s.authorize().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    s.cancel();
    const outcome = await pending;
    expect(outcome).toBeInstanceOf(Error);
    release("http://127.0.0.1:33418/callback?error=access_denied");
    await settle();
    await s.close();
    // Whatever the flow learned before the cancel is dropped with it (the machine learns at a
    // flow's end): nothing to write, before or after the change.
    expect(saves.map(keysOf)).toEqual(
      s.state().context.resource === undefined ? [] : saves.map(keysOf),
    );
    expect(saves).toEqual([]);
  }, 60_000);

  it("a flow the user denies: the failed state's record (what discovery learned, no token) is written once", async () => {
    const k = await kit();
    k.user.policy = { grant: "deny" };
    const { store, saves } = countingStore();
    const s = await open(k, store);
    const outcome = await s.authorize().catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(Error);
    expect(s.state().value).toBe("failed");
    await settle();
    const learned = saves.map(keysOf);
    expect(learned.length).toBe(1);
    expect(learned[0]).not.toContain("token");
    expect(learned[0]).toEqual(expect.arrayContaining(["authServer", "resource"]));
    // The user now consents: the full record, once more.
    k.user.policy = { grant: "all" };
    await s.authorize();
    await settle();
    expect(saves.map(keysOf).slice(1)).toEqual([full]);
    await s.close();
  }, 60_000);

  it("statechart fails with nothing learned: replaced, and still nothing written; a later login writes once", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store);
    expect(s.state().value).toBe("unauthorized");
    const { replaced, traces } = failStatechart(s);
    expect(replaced).toBe(true);
    expect(traces).toContain("recovered");
    expect(s.state().value).toBe("unauthorized");
    await settle();
    expect(saves).toEqual([]);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    await s.close();
  }, 60_000);

  it("statechart fails after the full record was saved: the replacement writes nothing new", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store);
    await s.authorize();
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    const { replaced, traces } = failStatechart(s);
    expect(replaced).toBe(true);
    expect(traces).toContain("recovered");
    expect(s.state().value).toBe("authorized");
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    await settle();
    expect(saves.map(keysOf)).toEqual([full]);
    // Logout after the recovery: as without one.
    await s.logout();
    expect(saves.map(keysOf)).toEqual([full, nothing]);
    await s.close();
  }, 60_000);

  it("statechart fails after a logout (lastSaved reset): the replacement writes nothing", async () => {
    const k = await kit();
    const { store, saves } = countingStore();
    const s = await open(k, store);
    await s.authorize();
    await s.logout();
    expect(saves.map(keysOf)).toEqual([full, nothing]);
    const { replaced } = failStatechart(s);
    expect(replaced).toBe(true);
    expect(s.state().value).toBe("unauthorized");
    await settle();
    expect(saves.map(keysOf)).toEqual([full, nothing]);
    await s.close();
  }, 60_000);

  it("a warm session that fails and is replaced writes nothing (its restored record counts as saved)", async () => {
    const k = await kit();
    const first = countingStore();
    const a = await open(k, first.store);
    await a.authorize();
    await a.close();
    const { store, saves } = countingStore(first.inner);
    const s = await open(k, store);
    expect(s.state().value).toBe("authorized");
    const { replaced } = failStatechart(s);
    expect(replaced).toBe(true);
    expect(s.state().value).toBe("authorized");
    expect((await call(s, k.mcpUrl)).status).toBe(200);
    await s.close();
    expect(saves).toEqual([]);
  }, 60_000);
});
