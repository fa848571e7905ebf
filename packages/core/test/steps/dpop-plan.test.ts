/**
 * dpopPlan: how a token request uses DPoP, decided before anything is sent (RFC 9449 §5.1, RFC
 * 9728 §2). A resource that takes DPoP-bound tokens only never gets a proof-less token request,
 * whatever the DPoP service in the application's layer decides; a DPoP-bound token set is
 * refreshed with a proof even where the server no longer lists algorithms.
 */
import { describe, expect, it } from "@effect/vitest";
import { Effect } from "effect";
import { CredentialStore } from "../../src/services/credential-store.js";
import { DPoP, type DPoPService, makeOver } from "../../src/services/dpop.js";
import { dpopPlan } from "../../src/steps/tokens.js";

const issuer = "https://as.example";
const resource = "https://mcp.example/mcp";
const metadata = (algs?: readonly string[]) => ({
  issuer,
  token_endpoint: `${issuer}/token`,
  ...(algs === undefined ? {} : { dpop_signing_alg_values_supported: algs }),
});
const service = (policy: "auto" | "off" | "required") =>
  makeOver(CredentialStore.memory(), { policy });
const plan = (
  dpop: DPoPService | undefined,
  context: { algs?: readonly string[]; resource?: string; bound?: boolean },
) => {
  const planned = dpopPlan({
    issuer,
    metadata: metadata(context.algs),
    resourceRequiringDpop: context.resource,
    refreshesBoundToken: context.bound,
  });
  return dpop === undefined ? planned : planned.pipe(Effect.provideService(DPoP, dpop));
};
const failureTag = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(effect), (error) => error._tag);

describe("dpopPlan", () => {
  it.effect(
    "a resource that takes DPoP-bound tokens only: a proof under auto, typed refusals otherwise",
    () =>
      Effect.gen(function* () {
        expect(yield* plan(service("auto"), { resource })).toMatchObject({
          alg: "ES256",
          use: "required",
        });
        expect(yield* failureTag(plan(service("off"), { resource }))).toBe(
          "DpopRequiredByResource",
        );
        expect(yield* failureTag(plan(undefined, { resource }))).toBe("DpopRequiredByResource");
        expect(yield* failureTag(plan(service("auto"), { resource, algs: ["HS256"] }))).toBe(
          "DpopUnsupported",
        );
      }),
  );

  it.effect(
    "a DPoP service that ignores the resource's requirement (decide's second argument) still sends no proof-less request",
    () =>
      Effect.gen(function* () {
        const real = service("auto");
        const oldStyle: DPoPService = { ...real, decide: (advertised) => real.decide(advertised) };
        expect(yield* failureTag(plan(oldStyle, { resource }))).toBe("DpopRequiredByResource");
        // Where it does prove, a Bearer answer is still refused for this resource.
        expect(yield* plan(oldStyle, { resource, algs: ["ES256"] })).toMatchObject({
          use: "required",
        });
      }),
  );

  it.effect(
    "refreshing a DPoP-bound token set: a proof even where nothing is listed, none under off",
    () =>
      Effect.gen(function* () {
        expect(yield* plan(service("auto"), { bound: true })).toMatchObject({ use: "offered" });
        expect(yield* plan(service("auto"), { bound: true, algs: ["HS256"] })).toMatchObject({
          use: "offered",
        });
        expect(yield* plan(service("auto"), {})).toBeUndefined();
        expect(yield* plan(service("off"), { bound: true })).toBeUndefined();
      }),
  );
});
