/**
 * The checker checks: each invariant of harness.ts fails a case that breaks it (otherwise a
 * green catalogue would prove nothing).
 */
import { afterEach, describe, expect, it } from "vitest";
import { disposeWorlds, startWorld } from "./harness.js";

afterEach(disposeWorlds);

describe("the shared invariant checker", () => {
  it("flags a call that did not end", async () => {
    const w = await startWorld();
    await expect(
      w.check({ kind: "hang" }, { maxRequests: 5, expect: "anything-typed" }),
    ).rejects.toThrow(/hang/);
  });

  it("flags an untyped rejection", async () => {
    const w = await startWorld();
    await expect(
      w.check(
        { kind: "error", error: new TypeError("fetch failed") },
        { maxRequests: 5, expect: "anything-typed" },
      ),
    ).rejects.toThrow(/untyped/);
  });

  it("flags a secret in an error, and in console output", async () => {
    const w = await startWorld();
    const out = await w.call();
    const secret = [...w.secrets].find((s) => s.startsWith("AT-")) ?? "missing";
    console.log(`debug ${secret}`);
    await expect(
      w.check([out, { kind: "error", error: { _tag: "Leaky", message: `oops ${secret}` } }], {
        maxRequests: 12,
        expect: "anything-typed",
      }),
    ).rejects.toThrow(/appears in error 1[\s\S]*console output/);
  });

  it("flags a bearer token sent to another origin, and too many requests", async () => {
    const w = await startWorld();
    const out = await w.call();
    w.records.push({
      url: "http://evil.example/x",
      origin: "http://evil.example",
      method: "GET",
      authorization: "Bearer x",
      via: "option",
      blocked: false,
    });
    await expect(w.check(out, { maxRequests: 2, expect: { status: 200 } })).rejects.toThrow(
      /more than 2[\s\S]*bearer token was sent to http:\/\/evil.example/,
    );
  });

  it("flags a request made while idle, and a wrong outcome", async () => {
    const w = await startWorld();
    const out = await w.call();
    setTimeout(() => void w.call(), 50);
    await expect(w.check(out, { maxRequests: 12, expect: { tag: "InsecureUrl" } })).rejects.toThrow(
      /expected InsecureUrl[\s\S]*requests while idle/,
    );
  });
});
