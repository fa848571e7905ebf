/** What inspection and recordings never see: every credential a grant carries, by its names. */
import { Redacted } from "effect";
import { describe, expect, it } from "vitest";
import { redact } from "../../src/machine/redact.js";

describe("redact", () => {
  it("hides the credentials of every grant, by wire name and by our own", () => {
    const secret = "s3cr3t-value";
    const out = JSON.stringify(
      redact({
        access_token: secret,
        refresh_token: secret,
        code_verifier: secret,
        client_assertion: secret,
        assertion: secret,
        subject_token: secret,
        actor_token: secret,
        device_code: secret,
        deviceCode: secret,
        input: { subjectToken: secret, actorToken: secret, privateKey: { d: secret } },
        headers: { authorization: `Bearer ${secret}`, dpop: secret },
        wrapped: Redacted.make(secret),
        kept: "public",
      }),
    );
    expect(out).not.toContain(secret);
    expect(out).toContain("public");
  });
});
