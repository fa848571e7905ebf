/**
 * Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against
 * examples/conformance-client: every client auth scenario (`auth/*`) of two suite versions —
 * authorization code and the extension grants alike (client credentials, enterprise-managed
 * authorization, DPoP, workload identity) — each scenario in its own `conformance client`
 * process, a bounded number at a time. There is no exclusion list.
 *
 * The suite needs Node 22; it comes from the npm registry with the suite itself:
 *   npx -y -p node@22 -p @modelcontextprotocol/conformance@VERSION conformance ...
 * Each version is installed once per run: `conformance list --client` through npx fills npx's
 * cache, gives the scenario list, and says where npx put Node 22 and the CLI. Each scenario then
 * runs `conformance client --command "exec node <client>" --scenario NAME -o DIR [flags]` with
 * those executables and npx's PATH — the very command npx would run, without npm's start-up per
 * scenario (AUTHCHART_CONFORMANCE_VIA_NPX=1 goes through npx every time instead). The scenario
 * list is read from the CLI at run time, so a renamed or added scenario changes the counts the
 * test asserts instead of silently dropping out.
 * Verdicts come from the suite's own checks.json: any FAILURE or WARNING check, a non-zero exit
 * of the suite (it also covers a client timeout or an unexpected client exit), or no checks at
 * all fails the scenario.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";

export interface SuiteVersion {
  readonly version: string;
  /** Extra `conformance client` flags for this version. */
  readonly args: readonly string[];
  /** How many `auth/*` client scenarios `conformance list --client` shows: all of them run. */
  readonly expectedCount: number;
}

export const suiteVersions: readonly SuiteVersion[] = [
  {
    version: "0.1.16",
    // 0.1.16 has no --force, and ignores --spec-version for a single scenario: all of them run.
    // 19 authorization-code scenarios and 3 extension ones (client credentials x2, cross-app access).
    args: [],
    expectedCount: 22,
  },
  {
    version: "0.2.0-alpha.12",
    // The stateful 2025-11-25 mock for every scenario, draft, back-compat and extension ones
    // included. 27 authorization-code scenarios and 6 extension ones (client credentials x2,
    // enterprise-managed authorization, DPoP x2, workload-identity JWT bearer).
    args: ["--spec-version", "2025-11-25", "--force"],
    expectedCount: 33,
  },
];

/**
 * What a scenario exercises, for the table only (the verdict never depends on it). Scenarios not
 * named here are authorization-code scenarios (discovery, registration, scopes, iss, ...).
 */
const scenarioKinds: Readonly<Record<string, string>> = {
  "auth/client-credentials-jwt": "client_credentials, private_key_jwt",
  "auth/client-credentials-basic": "client_credentials, client_secret_basic",
  "auth/cross-app-access-complete-flow": "token exchange + jwt-bearer (SEP-990)",
  "auth/enterprise-managed-authorization": "token exchange + jwt-bearer (SEP-990)",
  "auth/dpop": "authorization code + DPoP",
  "auth/dpop-nonce": "authorization code + DPoP nonces",
  "auth/wif-jwt-bearer": "jwt-bearer (workload identity)",
};

export const scenarioKind = (scenario: string): string =>
  scenarioKinds[scenario] ?? "authorization code";

/**
 * Selects scenarios for a manual run: an entry that is exactly a scenario's name selects that
 * scenario only (`auth/dpop` is not `auth/dpop-nonce`); any other entry selects every scenario
 * whose name contains it. Undefined selects all.
 */
export const selectScenarios = (
  scenarios: readonly string[],
  only: readonly string[] | undefined,
): string[] =>
  only === undefined
    ? [...scenarios]
    : scenarios.filter((name) =>
        only.some(
          (entry) => name === entry || (!scenarios.includes(entry) && name.includes(entry)),
        ),
      );

export type Verdict = "PASS" | "FAIL";

export interface ScenarioResult {
  readonly scenario: string;
  readonly version: string;
  /** What the scenario exercises (scenarioKind), for the table. */
  readonly kind: string;
  readonly verdict: Verdict;
  /** Check ids with status FAILURE / WARNING (INFO entries are request logs and ignored). */
  readonly failed: readonly string[];
  readonly warned: readonly string[];
  /** What else went wrong: the CLI's exit code, a client timeout, no checks at all. */
  readonly notes: readonly string[];
  /** The client's own last line: "ok", or the tag of the error it stopped with. */
  readonly client: string;
  readonly millis: number;
  /** For the failure report: failed/warned checks with their messages, the client's output. */
  readonly details: readonly string[];
}

export interface SuiteListing {
  readonly version: SuiteVersion;
  readonly scenarios: readonly string[];
  readonly installed: Installed;
}

export interface ConformanceRun {
  readonly listings: readonly SuiteListing[];
  readonly results: readonly ScenarioResult[];
  readonly outputDir: string;
  readonly millis: number;
}

export interface RunOptions {
  /** The client command's program: the built examples/conformance-client. */
  readonly clientPath: string;
  readonly concurrency?: number | undefined;
  /** Only run these scenarios (see selectScenarios; manual runs; counts still checked). */
  readonly only?: readonly string[] | undefined;
  /** Only install and run these suite versions (manual runs). Undefined: every version. */
  readonly versions?: readonly string[] | undefined;
  readonly log?: ((line: string) => void) | undefined;
  /** Start every scenario through `npx` instead of the executables npx installed (slower). */
  readonly viaNpx?: boolean | undefined;
}

interface Completed {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly killed: boolean;
}

/**
 * npm sets these for scripts run inside this workspace; npx must not take the monorepo for its
 * project (it would look for the packages there first and scan the whole tree).
 */
const childEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const lower = name.toLowerCase();
    if (
      lower === "npm_config_local_prefix" ||
      lower.startsWith("npm_config_workspace") ||
      lower === "npm_config_include_workspace_root" ||
      lower.startsWith("npm_package_") ||
      lower.startsWith("npm_lifecycle_")
    ) {
      continue;
    }
    env[name] = value;
  }
  return { ...env, ...extra };
};

/** Spawns a process in its own group, so that a timeout ends npx, the suite and the client. */
const runProcess = (
  command: string,
  args: readonly string[],
  options: {
    readonly cwd: string;
    readonly env: NodeJS.ProcessEnv;
    readonly timeoutMillis: number;
  },
) =>
  new Promise<Completed>((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      killed = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, options.timeoutMillis);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, killed });
    });
  });

/** `npx -y -p node@22 -p @modelcontextprotocol/conformance@VERSION` and what follows. */
const npxPrefix = (version: string, offline: boolean, rest: readonly string[]) => [
  "-y",
  ...(offline ? ["--prefer-offline"] : []),
  "-p",
  "node@22",
  "-p",
  `@modelcontextprotocol/conformance@${version}`,
  ...rest,
];

const lastLines = (text: string, count: number) =>
  text
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "" && !/^npm (warn|notice)/.test(line))
    .slice(-count);

/** Where npx installed one suite version: its Node 22 and its `conformance` executable. */
export interface Installed {
  readonly node: string;
  readonly conformance: string;
}

/**
 * Installs one suite version into npx's cache (once per run), reads its client auth scenarios
 * (every `auth/*` name `conformance list --client` shows),
 * and notes where npx put Node 22 and the CLI, so that scenario runs can start the very same
 * executables without paying npm's start-up again (about 1 s of CPU each on a 2-core machine).
 */
export const listScenarios = async (version: SuiteVersion, cwd: string): Promise<SuiteListing> => {
  const script = [
    'echo "@@node=$(command -v node)"',
    'echo "@@conformance=$(command -v conformance)"',
    "exec conformance list --client",
  ].join("; ");
  const done = await runProcess("npx", npxPrefix(version.version, false, ["-c", script]), {
    cwd,
    env: childEnv({}),
    timeoutMillis: 180_000,
  });
  const marker = (name: string) =>
    new RegExp(`^@@${name}=(.+)$`, "m").exec(done.stdout)?.[1]?.trim() ?? "";
  const installed = { node: marker("node"), conformance: marker("conformance") };
  if (done.code !== 0 || done.killed || installed.node === "" || installed.conformance === "") {
    throw new Error(
      `could not install or list @modelcontextprotocol/conformance@${version.version}: ${
        done.killed ? "timed out" : `exit ${done.code}`
      }\n${lastLines(done.stderr, 15).join("\n")}`,
    );
  }
  const all = [...done.stdout.matchAll(/^\s*-\s+(auth\/\S+)/gm)].map((m) => m[1] ?? "");
  return { version, scenarios: all, installed };
};

interface Check {
  readonly id: string;
  readonly status: string;
  readonly errorMessage?: string;
  readonly description?: string;
}

const findFile = (dir: string, name: string): string | undefined => {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry === name) {
      return path;
    }
  }
  return undefined;
};

const readText = (path: string | undefined) =>
  path !== undefined && existsSync(path) ? readFileSync(path, "utf8") : "";

/** The client's verdict line (see examples/conformance-client): "ok" or the error's tag. */
const clientOutcome = (stdout: string, stderr: string): string => {
  const failure = /conformance client \[[^\]]*\]: failed: ([A-Za-z]\w*)/.exec(stderr);
  if (failure) return failure[1] ?? "failed";
  if (/conformance client \[[^\]]*\]: ok: /.test(stdout)) return "ok";
  if (/conformance client: crashed/.test(stderr)) return "crashed";
  return "(no verdict)";
};

export interface ScenarioRunOptions {
  readonly clientPath: string;
  /** This scenario's own directory for the suite's -o output. */
  readonly outputDir: string;
  readonly cwd: string;
  /** Start the CLI npx installed directly; without it, through `npx` like a person would. */
  readonly installed?: Installed | undefined;
}

export const runScenario = async (
  version: SuiteVersion,
  scenario: string,
  options: ScenarioRunOptions,
): Promise<ScenarioResult> => {
  const started = Date.now();
  const cliArgs = [
    "client",
    "--command",
    // exec: the suite runs the command through sh; without exec a timeout kills only sh.
    `exec node ${options.clientPath}`,
    "--scenario",
    scenario,
    "-o",
    options.outputDir,
    ...version.args,
  ];
  const { installed } = options;
  const done = await (installed === undefined
    ? runProcess("npx", npxPrefix(version.version, true, ["conformance", ...cliArgs]), {
        cwd: options.cwd,
        env: childEnv({ AUTHCHART_TRACE: "1" }),
        timeoutMillis: 120_000,
      })
    : runProcess(installed.node, [installed.conformance, ...cliArgs], {
        cwd: options.cwd,
        // As under npx: npx's bin directory first, so the client's `node` is Node 22 as well.
        env: childEnv({
          AUTHCHART_TRACE: "1",
          PATH: `${dirname(installed.conformance)}${delimiter}${process.env.PATH ?? ""}`,
        }),
        timeoutMillis: 120_000,
      }));
  const millis = Date.now() - started;
  const checksFile = findFile(options.outputDir, "checks.json");
  const runDir = checksFile === undefined ? undefined : dirname(checksFile);
  let checks: readonly Check[] = [];
  const notes: string[] = [];
  try {
    checks = checksFile ? (JSON.parse(readText(checksFile)) as Check[]) : [];
  } catch {
    notes.push("checks.json unreadable");
  }
  if (checksFile === undefined) notes.push("no checks.json");
  const worst = new Map<string, string>();
  const rank: Record<string, number> = { SUCCESS: 1, WARNING: 2, FAILURE: 3 };
  for (const check of checks) {
    const r = rank[check.status];
    if (r === undefined) continue; // INFO, SKIPPED: request logs and notes
    if (r > (rank[worst.get(check.id) ?? ""] ?? 0)) worst.set(check.id, check.status);
  }
  const failed = [...worst].filter(([, s]) => s === "FAILURE").map(([id]) => id);
  const warned = [...worst].filter(([, s]) => s === "WARNING").map(([id]) => id);
  if (done.killed) notes.push("runner timeout");
  if (/CLIENT TIMED OUT/.test(done.stderr)) notes.push("client timed out");
  const exited = /CLIENT EXITED WITH ERROR \(code (\d+)\)/.exec(done.stderr);
  if (exited) notes.push(`client exit ${exited[1]}`);
  if (done.code !== 0 && !done.killed) notes.push(`suite exit ${done.code}`);
  if (worst.size === 0) notes.push("no checks recorded");
  const clientStdout = readText(runDir && join(runDir, "stdout.txt"));
  const clientStderr = readText(runDir && join(runDir, "stderr.txt"));
  const verdict: Verdict =
    done.code === 0 && !done.killed && failed.length === 0 && warned.length === 0 && worst.size > 0
      ? "PASS"
      : "FAIL";
  const details =
    verdict === "PASS"
      ? []
      : [
          ...checks
            .filter((c) => c.status === "FAILURE" || c.status === "WARNING")
            .map((c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description ?? ""}`),
          ...lastLines(clientStderr, 12).map((line) => `client stderr: ${line}`),
          ...(checksFile === undefined
            ? lastLines(done.stderr, 12).map((line) => `suite: ${line}`)
            : []),
          `artifacts: ${runDir ?? options.outputDir}`,
        ];
  return {
    scenario,
    version: version.version,
    kind: scenarioKind(scenario),
    verdict,
    failed,
    warned,
    notes,
    client: clientOutcome(clientStdout, clientStderr),
    millis,
    details,
  };
};

/** Runs `task` over `items`, at most `limit` at a time, keeping the input order in the output. */
const pool = async <T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
};

export const runConformance = async (options: RunOptions): Promise<ConformanceRun> => {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const clientPath = resolve(options.clientPath);
  if (!existsSync(clientPath)) {
    throw new Error(`${clientPath} does not exist: run \`npm run build\` first`);
  }
  const concurrency = options.concurrency ?? 2;
  const work = mkdtempSync(join(tmpdir(), "authchart-conformance-"));
  const versions = suiteVersions.filter(
    (v) => options.versions === undefined || options.versions.includes(v.version),
  );
  if (versions.length === 0) {
    throw new Error(
      `no suite version among ${options.versions?.join(", ")}; known: ${suiteVersions
        .map((v) => v.version)
        .join(", ")}`,
    );
  }
  log(`installing ${versions.map((v) => v.version).join(" and ")} (npx cache) in ${work}`);
  const listings = await Promise.all(versions.map((v) => listScenarios(v, work)));
  const jobs = listings.flatMap((listing) =>
    selectScenarios(listing.scenarios, options.only).map((scenario) => ({ listing, scenario })),
  );
  log(`running ${jobs.length} scenarios, ${concurrency} at a time`);
  const results = await pool(jobs, concurrency, async ({ listing, scenario }, index) => {
    const version = listing.version.version;
    const result = await runScenario(listing.version, scenario, {
      clientPath,
      outputDir: join(work, "runs", `${String(index).padStart(2, "0")}-${version}`),
      cwd: work,
      installed: options.viaNpx ? undefined : listing.installed,
    });
    log(`${result.verdict} ${version} ${scenario} (${(result.millis / 1000).toFixed(1)} s)`);
    return result;
  });
  return { listings, results, outputDir: work, millis: Date.now() - started };
};

const pad = (text: string, width: number) => text.padEnd(width);

/** The table `npm test` prints: one row per scenario run, then what failed and why. */
export const formatTable = (run: ConformanceRun): string => {
  const header = [
    "scenario",
    "suite",
    "tests",
    "result",
    "client",
    "failed checks",
    "warnings",
    "notes",
  ];
  const rows = run.results.map((r) => [
    r.scenario,
    r.version,
    r.kind,
    r.verdict,
    r.client,
    r.failed.join(" ") || "-",
    r.warned.join(" ") || "-",
    r.notes.join("; ") || "-",
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const passed = run.results.filter((r) => r.verdict === "PASS").length;
  const counts = run.listings
    .map((l) => `${l.version.version}: ${l.scenarios.length} scenarios`)
    .join(", ");
  const out = [
    `MCP conformance suite, client auth scenarios (${counts})`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    `${passed}/${run.results.length} passed in ${(run.millis / 1000).toFixed(0)} s`,
  ];
  const failures = run.results.filter((r) => r.verdict === "FAIL");
  if (failures.length > 0) {
    out.push("", "failures:");
    for (const r of failures) {
      out.push(`  ${r.scenario} (${r.version})`, ...r.details.map((d) => `    ${d}`));
    }
  }
  return out.join("\n");
};
