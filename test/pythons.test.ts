// Every supported Python on this machine (found at run time: pyenv, /usr/bin/python3, python3 on PATH;
// 3.9 to 3.13 with a shared libpython), each running the core scenario, and virtualenvs of each as
// --python DIR/bin/python and as --python-home DIR. Also --python-path.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemps, fixture, get, getJson, start, tempDir, type RunningServer } from "./helpers/server.ts";
import { discoverPythons } from "./helpers/pythons.ts";

const pythons = discoverPythons();
afterAll(() => cleanupTemps());

test("at least one supported Python with a shared libpython is found", () => {
  console.log(`Pythons found: ${pythons.map((p) => `${p.version} (${p.source}: ${p.executable})`).join(", ")}`);
  expect(pythons.length).toBeGreaterThan(0);
});

const reloadable = (text: string) => `
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [${JSON.stringify(text)}.encode()]
`;

for (const python of pythons) {
  describe(`Python ${python.version} (${python.source})`, () => {
    let server: RunningServer;
    let dir: string;
    beforeAll(async () => {
      dir = tempDir();
      writeFileSync(join(dir, "app.wsgi"), reloadable("before"));
      server = await start({
        python: python.executable,
        args: [
          "--log-level", "info",
          "--alias", `/hello=${fixture("hello.wsgi")}`,
          "--alias", `/env=${fixture("environ.wsgi")}`,
          "--alias", `/s1=${fixture("state.wsgi")}`,
          "--alias", `/s2=${fixture("state.wsgi")}`,
          "--alias", `/app=${join(dir, "app.wsgi")}`,
        ],
      });
    });
    afterAll(() => server?.stop());

    test("serves hello", async () => {
      expect(await get(`${server.url}/hello`)).toMatchObject({ status: 200, text: "Hello World!" });
    });

    test("runs this Python", async () => {
      expect(server.log()).toContain(`Initializing Python ${python.version} (${python.library})`);
      const env = await getJson(`${server.url}/env`);
      expect(env._python.version_info.join(".")).toBe(python.version);
      expect(env._python.version).toStartWith(python.version + " ");
      expect(env["wsgi.version"]).toEqual([1, 0]);
    });

    test("isolates two aliases in two interpreters", async () => {
      const a1 = await getJson(`${server.url}/s1`);
      const a2 = await getJson(`${server.url}/s1`);
      const b = await getJson(`${server.url}/s2`);
      expect(a2.shared).toBe(a1.shared + 1);
      expect(b.shared).toBe(1);
      expect(b.modules_id).not.toBe(a1.modules_id);
      expect(b.group).not.toBe(a1.group);
    });

    test("reloads an edited script", async () => {
      expect((await get(`${server.url}/app`)).text).toBe("before");
      writeFileSync(join(dir, "app.wsgi"), reloadable("after"));
      const later = Date.now() / 1000 + 60;
      utimesSync(join(dir, "app.wsgi"), later, later);
      expect((await get(`${server.url}/app`)).text).toBe("after");
      await server.waitForLog(/Reloading WSGI script '.*app\.wsgi'/);
    });

    test("also runs when --python names its libpython .so directly", async () => {
      const direct = await start({ python: python.library, args: ["--alias", `/env=${fixture("environ.wsgi")}`] });
      try {
        const env = await getJson(`${direct.url}/env`);
        expect(env._python.version_info.join(".")).toBe(python.version);
      } finally {
        await direct.stop();
      }
    });
  });

  describe(`a virtualenv of Python ${python.version} (${python.source})`, () => {
    let venv: string;
    let sitePackages: string;
    beforeAll(() => {
      venv = join(tempDir(), "venv");
      const made = Bun.spawnSync([python.executable, "-m", "venv", "--without-pip", venv], { stdout: "pipe", stderr: "pipe" });
      if (made.exitCode !== 0) throw new Error(`venv creation failed: ${made.stderr.toString()}`);
      sitePackages = join(venv, "lib", `python${python.minor}`, "site-packages");
      mkdirSync(sitePackages, { recursive: true });
      writeFileSync(join(sitePackages, "wsgi_bin_test_lib.py"), 'VALUE = "from the venv"\n');
    });

    for (const how of ["--python DIR/bin/python", "--python-home DIR"]) {
      test(`serves a script importing a venv-only module with ${how}`, async () => {
        const args = ["--alias", `/lib=${fixture("import-lib.wsgi")}`, "--alias", `/other=${fixture("import-lib.wsgi")}`];
        const server = how.startsWith("--python-home")
          ? await start({ args: [...args, "--python-home", venv] })
          : await start({ args, python: join(venv, "bin", "python") });
        try {
          for (const path of ["/lib", "/other"]) { // both interpreters get the venv
            const info = await getJson(`${server.url}${path}`);
            expect(info.lib).toBe("from the venv");
            expect(info.lib_file).toBe(join(sitePackages, "wsgi_bin_test_lib.py"));
            expect(info.version).toStartWith(python.version + " ");
            // As inside the venv: sys.executable is the venv's python, sys.prefix the venv.
            expect(info.executable).toStartWith(join(venv, "bin", "python"));
            expect(info.prefix).toBe(venv);
            expect(info.path).toContain(sitePackages);
          }
        } finally {
          await server.stop();
        }
      });
    }
  });
}

describe("--python-path DIR", () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(join(dir, "wsgi_bin_test_lib.py"), 'VALUE = "from --python-path"\n');
    server = await start({
      args: ["--python-path", dir, "--alias", `/lib=${fixture("import-lib.wsgi")}`, "--alias", `/g=${fixture("import-lib.wsgi")},application-group=%{GLOBAL}`],
    });
  });
  afterAll(() => server?.stop());

  test("adds DIR to sys.path of every interpreter", async () => {
    for (const path of ["/lib", "/g"]) {
      const info = await getJson(`${server.url}${path}`);
      expect(info.lib).toBe("from --python-path");
      expect(info.path).toContain(dir);
    }
  });
});

describe("no --python-path", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--alias", `/lib=${fixture("import-lib.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("the module is not importable, so the --python-path test above means something", async () => {
    const r = await get(`${server.url}/lib`);
    expect(r.status).toBe(500);
    await server.waitForLog(/No module named 'wsgi_bin_test_lib'/);
  });
});
