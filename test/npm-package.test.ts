// The npm package: `npm pack` makes wsgi-bin-VERSION.tgz (the launcher, the library and its types)
// and this platform's @wsgi-bin/<platform>-<arch> (the executable and koffi's native module); both,
// installed offline from those tarballs into an empty project, give a working `npx wsgi-bin` and a
// library that runs on Node and on Bun, typed for TypeScript.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { platformPackageName } from "../build/platform-package.ts";
import { VERSION } from "../src/version.ts";
import { cleanupTemps, fixture, ROOT, tempDir } from "./helpers/server.ts";

const node = Bun.which("node");
const npm = Bun.which("npm");
const npx = Bun.which("npx");
const tsc = join(ROOT, "node_modules/.bin/tsc");

function sh(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const run = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", timeout: 180_000 });
  return { code: run.status, stdout: run.stdout ?? "", stderr: run.stderr ?? "" };
}

function must(result: { code: number | null; stdout: string; stderr: string }, what: string) {
  if (result.code !== 0) throw new Error(`${what} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** `tar -tzf` of a tarball: its file names. */
const listing = (tarball: string) => must(sh("tar", ["-tzf", tarball], ROOT), "tar").stdout.trim().split("\n");

describe("npm package", () => {
  let packs: string;
  let project: string;
  let mainTarball: string;
  let platformTarball: string;
  const platformName = platformPackageName();

  beforeAll(() => {
    if (!node || !npm || !npx) throw new Error("node, npm and npx are needed for the package test (Node 20 or later)");
    packs = tempDir("wsgi-bin-packs-");
    // prepack builds the executable, the library and the platform package's directory.
    const packed = must(sh(npm, ["pack", "--pack-destination", packs], ROOT), "npm pack");
    mainTarball = join(packs, packed.stdout.trim().split("\n").at(-1)!);
    const platformPacked = must(sh(npm, ["pack", join(ROOT, "dist/npm", platformName.slice("@wsgi-bin/".length)), "--pack-destination", packs], ROOT), "npm pack (platform)");
    platformTarball = join(packs, platformPacked.stdout.trim().split("\n").at(-1)!);

    project = tempDir("wsgi-bin-project-");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "empty-project", version: "1.0.0", private: true, type: "module" }));
    // Offline: nothing comes from the registry; the platform package from its own tarball.
    must(sh(npm, ["install", "--offline", "--no-audit", "--no-fund", platformTarball, mainTarball], project), "npm install");
    copyFileSync(fixture("hello.wsgi"), join(project, "hello.wsgi"));
  }, 300_000);
  afterAll(() => cleanupTemps());

  test("wsgi-bin's tarball: the launcher, the library and its declarations; no sources", () => {
    expect(mainTarball).toEndWith(`wsgi-bin-${VERSION}.tgz`);
    const files = listing(mainTarball);
    for (const file of ["package/package.json", "package/README.md", "package/bin/wsgi-bin.js", "package/dist/lib/index.js",
      "package/dist/lib/worker.js", "package/dist/lib/watchdog.js", "package/dist/lib/index.d.ts", "package/dist/lib/types/lib/types.d.ts"]) {
      expect(files).toContain(file);
    }
    expect(files.filter((f) => f.startsWith("package/src/") || f.startsWith("package/test/") || f.endsWith("/wsgi-bin"))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(project, "node_modules/wsgi-bin/package.json"), "utf8"));
    expect(manifest.bin).toEqual({ "wsgi-bin": "bin/wsgi-bin.js" });
    expect(manifest.exports["."]).toEqual({ types: "./dist/lib/index.d.ts", default: "./dist/lib/index.js" });
    expect(manifest.optionalDependencies).toEqual({ [platformName]: VERSION });
    expect(manifest.dependencies).toBeUndefined(); // koffi and hono are inside the bundle
  });

  test("the platform package: this platform's executable and koffi.node, chosen by os, cpu and libc", () => {
    const files = listing(platformTarball);
    expect(files.sort()).toEqual(["package/README.md", "package/bin/wsgi-bin", "package/koffi.node", "package/package.json"]);
    const dir = join(project, "node_modules", platformName);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(manifest).toMatchObject({ name: platformName, version: VERSION, os: [process.platform], cpu: [process.arch] });
    if (process.platform === "linux") expect(manifest.libc).toHaveLength(1);
    expect(statSync(join(dir, "bin/wsgi-bin")).mode & 0o111).not.toBe(0);
  });

  test("npx wsgi-bin --version", () => {
    const result = must(sh(npx!, ["wsgi-bin", "--version"], project), "npx wsgi-bin --version");
    expect(result.stdout.trim()).toBe(`wsgi-bin ${VERSION}`);
  });

  test("npx wsgi-bin --alias /hello=hello.wsgi serves, and stops on SIGTERM", async () => {
    // Its own process group: npx, the launcher and the server get the signal, as from a terminal.
    const child = spawn(npx!, ["wsgi-bin", "--alias", "/hello=hello.wsgi", "--port", "0", "--host", "127.0.0.1"], {
      cwd: project, detached: true, stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stderr.on("data", (chunk) => (log += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      let port: string | undefined;
      while (!(port = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(log)?.[1]) && Date.now() < deadline) await Bun.sleep(50);
      expect(port).toBeDefined();
      const response = await fetch(`http://127.0.0.1:${port}/hello`);
      expect(await response.text()).toBe("Hello World!");
      expect(response.headers.get("server")).toBe(`wsgi-bin/${VERSION}`);
    } finally {
      process.kill(-child.pid!, "SIGTERM");
    }
    await exited;
    // npx goes at once; the server after its graceful stop, writing to the same pipe.
    for (const deadline = Date.now() + 10_000; !/Process \d+ exiting after SIGTERM/.test(log) && Date.now() < deadline;) await Bun.sleep(50);
    expect(log).toMatch(/Process \d+ exiting after SIGTERM/);
  });

  const libraryScript = `
import { createServer } from "wsgi-bin";
const server = createServer({ aliases: { "/hello": new URL("./hello.wsgi", import.meta.url).pathname }, threads: 1, onLog: () => {} });
const viaFetch = await (await server.fetch(new Request("http://x/hello"))).text();
const url = await server.listen({ port: 0 });
const viaSocket = await (await fetch(url + "hello")).text();
await server.close();
console.log(JSON.stringify({ runtime: typeof Bun === "undefined" ? "node" : "bun", viaFetch, viaSocket, url }));
`;

  for (const runtime of ["node", "bun"]) {
    test(`the library from the installed package on ${runtime}: fetch() and listen()`, () => {
      writeFileSync(join(project, "library.mjs"), libraryScript);
      const result = must(sh(runtime === "node" ? node! : process.execPath, ["library.mjs"], project), `${runtime} library.mjs`);
      const seen = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
      expect(seen).toMatchObject({ runtime, viaFetch: "Hello World!", viaSocket: "Hello World!" });
      expect(seen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    });
  }

  test("the declarations type a TypeScript consumer, and catch a wrong option", () => {
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, lib: ["ES2022", "DOM"], types: [] },
      files: ["consumer.ts"],
    }));
    writeFileSync(join(project, "consumer.ts"), `
import { createServer, ScriptLoadError, type RequestEntry, type WsgiServer } from "wsgi-bin";
const server: WsgiServer = createServer({ aliases: { "/": "app.wsgi" }, threads: 2, onRequest: (entry: RequestEntry) => console.log(entry.status) });
const url: string = await server.listen({ port: 0 });
const response: Response = await server.fetch(new Request(url));
const report = await server.status();
if (report) console.log(report.totals.requestsPerSecond, response.status);
export const isLoadError = (e: unknown) => e instanceof ScriptLoadError && e.reason.length > 0;
`);
    must(sh(tsc, ["-p", "."], project), "tsc on a consumer");
    writeFileSync(join(project, "consumer.ts"), `import { createServer } from "wsgi-bin";\ncreateServer({ aliases: { "/": "app.wsgi" }, threads: "two" });\n`);
    const wrong = sh(tsc, ["-p", "."], project);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toContain("consumer.ts(2,");
    expect(wrong.stdout).toContain("not assignable to type 'number'");
  });

  test("without the platform package, npx wsgi-bin says what is missing and exits 1", () => {
    const bare = tempDir("wsgi-bin-bare-");
    writeFileSync(join(bare, "package.json"), JSON.stringify({ name: "bare", version: "1.0.0", private: true }));
    must(sh(npm!, ["install", "--offline", "--no-audit", "--no-fund", mainTarball], bare), "npm install (main package only)");
    expect(existsSync(join(bare, "node_modules", platformName))).toBe(false);
    const result = sh(npx!, ["wsgi-bin", "--version"], bare);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the optional dependency ${platformName} is not installed`);
    expect(result.stderr).toContain("WSGI_BIN_EXECUTABLE");
  });
});
