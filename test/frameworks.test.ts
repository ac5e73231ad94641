// Real frameworks served through wsgi-bin (Flask, Django, Bottle, Falcon, Pyramid, httpbin), each under
// an alias that is not / (SCRIPT_NAME handling: generated URLs and redirects carry the prefix), and
// each wrapped in wsgiref.validate.validator (test/fixtures/frameworks/validated.py), which checks the
// server's side of PEP 3333 as well as the app's: a violation is an AssertionError (or a WSGIWarning,
// made an error) inside the app, so a 500 and a traceback in the error log, which every block checks.
//
// The frameworks are Debian packages for /usr/bin/python3 (see .ci/run): python3-flask python3-django
// python3-bottle python3-falcon python3-pyramid python3-httpbin.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { cleanupTemps, fixture, freePort, start, tempDir, type RunningServer } from "./helpers/server.ts";

const FRAMEWORKS = fixture("frameworks");
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** The first of /usr/bin/python3 and python3 on PATH that can import `module`. */
function pythonWith(module: string, aptPackage: string): string {
  for (const python of ["/usr/bin/python3", "python3"]) {
    try {
      if (Bun.spawnSync([python, "-c", `import ${module}`], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) return python;
    } catch {
      // not installed: try the next one
    }
  }
  throw new Error(`no python3 can import ${module}: apt-get install ${aptPackage} (as .ci/run does)`);
}

/** What the validator (or anything else) would have left in the error log had a request gone wrong. */
const PROTOCOL_TROUBLE = /AssertionError|WSGIWarning|Traceback|Exception occurred|without being closed/;

/** Starts wsgi-bin with one framework fixture at `alias`. */
async function serve(alias: string, script: string, python: string, env?: Record<string, string>): Promise<RunningServer> {
  return start({ args: ["--threads", "4", "--alias", `${alias}=${script}`], python, env, timeoutMs: 30_000 });
}

/** A minimal cookie jar: name=value pairs from Set-Cookie, sent back as one Cookie header. */
class Cookies {
  jar = new Map<string, string>();
  take(response: Response): Response {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '""') this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }
  header(): string {
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set("Cookie", this.header());
    return this.take(await fetch(url, { redirect: "manual", ...init, headers }));
  }
}

/** The path of a redirect's Location (absolute or not), with its query. */
function locationPath(response: Response, base: string): string {
  const location = response.headers.get("location");
  expect(location).toBeTruthy();
  const url = new URL(location!, base);
  return url.pathname + url.search;
}

/** No line of the error log shows a validator complaint or an exception (only those lines are shown). */
function noProtocolTrouble(server: RunningServer) {
  const lines = server.log().split("\n");
  const trouble = lines.flatMap((line, i) => (PROTOCOL_TROUBLE.test(line) ? lines.slice(i, i + 30) : [])).slice(0, 120);
  expect(trouble.join("\n")).toBe("");
}

afterAll(() => cleanupTemps());

describe("Flask under /flask", () => {
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    server = await serve("/flask", join(FRAMEWORKS, "flask.wsgi"), pythonWith("flask", "python3-flask"));
    base = `${server.url}/flask`;
  });
  afterAll(() => server?.stop());

  test("a JSON view, with url_for and request.url carrying the prefix", async () => {
    const response = await fetch(`${base}/json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const body = await response.json();
    expect(body).toEqual({
      framework: "flask",
      script_name: "/flask",
      path: "/json",
      url: `${base}/json`,
      self_url: "/flask/json",
    });
  });

  test("the app runs behind wsgiref.validate.validator", async () => {
    // TerminatedInput (validated.py) wraps the validator's InputWrapper; ErrorWrapper is the validator's.
    expect(await (await fetch(`${base}/wrapped`)).json()).toEqual({ input: "TerminatedInput", inner_input: "InputWrapper", errors: "ErrorWrapper" });
  });

  test("query arguments, repeated and percent-encoded", async () => {
    const body = await (await fetch(`${base}/args?a=caf%C3%A9%20au%20lait&b=1&b=2&b=x%26y`)).json();
    expect(body).toEqual({ a: "café au lait", b: ["1", "2", "x&y"], missing: null });
  });

  test("a form POST answers a redirect under the prefix; the form shows what was posted", async () => {
    const form = await fetch(`${base}/form`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('action="/flask/form"');
    const posted = await fetch(`${base}/form`, {
      method: "POST",
      body: new URLSearchParams({ message: "hello from wsgi-bin & co" }),
      redirect: "manual",
    });
    expect(posted.status).toBe(302);
    expect(locationPath(posted, base)).toBe("/flask/form?added=hello+from+wsgi-bin+%26+co");
    const after = await fetch(new URL(posted.headers.get("location")!, base));
    expect(after.status).toBe(200);
    expect(await after.text()).toContain("<li>hello from wsgi-bin & co</li>");
    const empty = await fetch(`${base}/form`, { method: "POST", body: new URLSearchParams({}) });
    expect(empty.status).toBe(400);
    await empty.text();
  });

  test("a 404 from the app (abort) and one from its router", async () => {
    const aborted = await fetch(`${base}/missing-item/7`);
    expect(aborted.status).toBe(404);
    expect(await aborted.text()).toContain("no item 7");
    const unrouted = await fetch(`${base}/no/such/page`);
    expect(unrouted.status).toBe(404);
    expect(await unrouted.text()).toContain("Not Found");
    const wrongMethod = await fetch(`${base}/json`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toContain("GET");
    await wrongMethod.text();
  });

  test("a streamed response (stream_with_context) arrives in parts, as the generator yields", async () => {
    const started = Date.now();
    const response = await fetch(`${base}/stream?n=4&tag=streamed`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const arrivals: { text: string; at: number }[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push({ text: decoder.decode(value, { stream: true }), at: Date.now() - started });
    }
    const text = arrivals.map((a) => a.text).join("");
    expect(text).toBe([0, 1, 2, 3].map((i) => `part ${i} of 4 (streamed)\n`).join(""));
    // The first part is read long before the generator's last one is made (3 x 0.25 s later).
    expect(arrivals.length).toBeGreaterThan(1);
    expect(arrivals[0]!.text).toStartWith("part 0 of 4");
    expect(arrivals[0]!.text).not.toContain("part 3");
    expect(arrivals.at(-1)!.at - arrivals[0]!.at).toBeGreaterThan(400);
  });

  test("a multipart file upload: size and sha256 come back right", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const form = new FormData();
    form.append("note", "three megabytes");
    form.append("file", new Blob([data], { type: "application/octet-stream" }), "random.bin");
    const response = await fetch(`${base}/upload`, { method: "POST", body: form });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: "random.bin", size: data.length, sha256: sha256(data), field: "three megabytes" });
  });

  test("the validator saw no protocol violation", () => noProtocolTrouble(server));
});

describe("Django under /dj (CSRF, sessions, uploads, admin)", () => {
  let server: RunningServer;
  let base: string;
  const project = join(FRAMEWORKS, "djangoproject");
  const password = "wsgi-bin-Admin-pw-1";
  let python = "";
  let database = "";

  beforeAll(async () => {
    python = pythonWith("django", "python3-django");
    const env = {
      ...process.env,
      DJANGO_SETTINGS_MODULE: "testsite.settings",
      WSGI_BIN_DJANGO_DB: join(tempDir("wsgi-bin-django-"), "db.sqlite3"),
      PYTHONPATH: project,
      DJANGO_SUPERUSER_PASSWORD: password,
      PYTHONDONTWRITEBYTECODE: "1",
    } as Record<string, string>;
    for (const command of [
      ["migrate", "--noinput", "-v", "0"],
      ["createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com"],
      // For the WSGIAuthUserScript test: a member of group staff, and a user in no group.
      ["shell", "-c", "from django.contrib.auth.models import Group, User; staff = Group.objects.create(name='staff'); " +
        "User.objects.create_user('editor', password='editor-pw-1').groups.add(staff); User.objects.create_user('outsider', password='outsider-pw-1')"],
    ]) {
      const run = Bun.spawnSync([python, "-m", "django", ...command], { env, cwd: project, stdout: "pipe", stderr: "pipe" });
      if (run.exitCode !== 0) throw new Error(`django ${command[0]} failed:\n${run.stdout}\n${run.stderr}`);
    }
    database = env.WSGI_BIN_DJANGO_DB!;
    server = await serve("/dj", join(project, "app.wsgi"), python, {
      WSGI_BIN_DJANGO_DB: env.WSGI_BIN_DJANGO_DB!,
      PYTHONDONTWRITEBYTECODE: "1",
    });
    base = `${server.url}/dj`;
  });
  afterAll(() => server?.stop());

  test("a JSON view: reverse() and build_absolute_uri() carry the prefix", async () => {
    const response = await fetch(`${base}/json/?q=%C3%A9t%C3%A9`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      framework: "django",
      script_name: "/dj",
      path: "/dj/json/",
      path_info: "/json/",
      reverse: "/dj/json/",
      absolute: `${base}/json/?q=%C3%A9t%C3%A9`,
      q: "été",
    });
    // CommonMiddleware's APPEND_SLASH redirect stays under the prefix too.
    const slash = await fetch(`${base}/json`, { redirect: "manual" });
    expect(slash.status).toBe(301);
    expect(locationPath(slash, base)).toBe("/dj/json/");
  });

  test("a form with CSRF: GET it, POST it back with the token (302); without the token: 403", async () => {
    const cookies = new Cookies();
    const page = await cookies.fetch(`${base}/form/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('action="/dj/form/"');
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)?.[1];
    expect(token).toBeTruthy();
    expect(cookies.jar.get("csrftoken")).toBeTruthy();

    const posted = await cookies.fetch(`${base}/form/`, {
      method: "POST",
      body: new URLSearchParams({ csrfmiddlewaretoken: token!, message: "through the CSRF check" }),
    });
    expect(posted.status).toBe(302);
    expect(locationPath(posted, base)).toBe("/dj/form/?sent=1");
    await posted.text();
    const after = await cookies.fetch(`${base}/form/?sent=1`);
    expect(await after.text()).toContain("<li>through the CSRF check</li>");

    const noToken = await cookies.fetch(`${base}/form/`, {
      method: "POST",
      body: new URLSearchParams({ message: "forged" }),
    });
    expect(noToken.status).toBe(403);
    await noToken.text();
    const noCookie = await fetch(`${base}/form/`, { method: "POST", body: new URLSearchParams({ csrfmiddlewaretoken: token!, message: "forged" }) });
    expect(noCookie.status).toBe(403);
    await noCookie.text();
  });

  test("sessions: a counter goes up with the session cookie, and starts again without it", async () => {
    const cookies = new Cookies();
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push((await (await cookies.fetch(`${base}/counter/`)).json()).count);
    expect(counts).toEqual([1, 2, 3]);
    expect(cookies.jar.get("sessionid")).toBeTruthy();
    expect((await (await fetch(`${base}/counter/`)).json()).count).toBe(1);
    const other = new Cookies();
    expect((await (await other.fetch(`${base}/counter/`)).json()).count).toBe(1);
    expect((await (await cookies.fetch(`${base}/counter/`)).json()).count).toBe(4);
  });

  test("a file upload (over FILE_UPLOAD_MAX_MEMORY_SIZE, so to a temporary file)", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const form = new FormData();
    form.append("note", "big one");
    form.append("file", new Blob([data]), "upload.bin");
    const response = await fetch(`${base}/upload/`, { method: "POST", body: form });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: "upload.bin", size: data.length, sha256: sha256(data), note: "big one" });
  });

  test("the admin: login with CSRF, then the site administration page", async () => {
    const cookies = new Cookies();
    const anonymous = await cookies.fetch(`${base}/admin/`);
    expect(anonymous.status).toBe(302);
    expect(locationPath(anonymous, base)).toBe("/dj/admin/login/?next=/dj/admin/");
    await anonymous.text();

    const login = await cookies.fetch(`${base}/admin/login/?next=/dj/admin/`);
    expect(login.status).toBe(200);
    const html = await login.text();
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)?.[1];
    expect(token).toBeTruthy();

    const wrong = await cookies.fetch(`${base}/admin/login/?next=/dj/admin/`, {
      method: "POST",
      body: new URLSearchParams({ csrfmiddlewaretoken: token!, username: "admin", password: "not it", next: "/dj/admin/" }),
    });
    expect(wrong.status).toBe(200);
    expect(await wrong.text()).toContain("Please enter the correct username and password");

    const posted = await cookies.fetch(`${base}/admin/login/?next=/dj/admin/`, {
      method: "POST",
      body: new URLSearchParams({ csrfmiddlewaretoken: token!, username: "admin", password, next: "/dj/admin/" }),
    });
    expect(posted.status).toBe(302);
    expect(locationPath(posted, base)).toBe("/dj/admin/");
    await posted.text();
    expect(cookies.jar.get("sessionid")).toBeTruthy();

    const admin = await cookies.fetch(`${base}/admin/`);
    expect(admin.status).toBe(200);
    const page = await admin.text();
    expect(page).toContain("Site administration");
    expect(page).toContain('href="/dj/admin/auth/user/"');
    const users = await cookies.fetch(`${base}/admin/auth/user/`);
    expect(users.status).toBe(200);
    expect(await users.text()).toContain("admin@example.com");
  });

  test("Django's users guard a path through WSGIAuthUserScript and WSGIAuthGroupScript, as Django documents it for mod_wsgi", async () => {
    const port = await freePort();
    const guarded = await start({
      args: ["--config", fixture("frameworks/django-auth.conf"), "--port", String(port)], python, timeoutMs: 30_000,
      env: { PROJECT: project, PORT: String(port), WSGI_BIN_DJANGO_DB: database, PYTHONDONTWRITEBYTECODE: "1" },
    });
    try {
      const url = `${guarded.url}/dj/json/`;
      const as = (credentials: string) => fetch(url, { headers: { Authorization: `Basic ${Buffer.from(credentials).toString("base64")}` } });
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="Django users"');
      expect((await as(`admin:${password}`)).status).toBe(200); // Require user admin
      const editor = await as("editor:editor-pw-1"); // Require wsgi-group staff: groups_for_user
      expect(editor.status).toBe(200);
      expect((await editor.json()).framework).toBe("django");
      expect((await as("outsider:outsider-pw-1")).status).toBe(401); // authenticated, in no group
      expect((await as("editor:wrong")).status).toBe(401);
      expect((await as("nobody:x")).status).toBe(401); // check_password's None
      expect((await fetch(`${guarded.url}/dj/form/`)).status).toBe(200); // outside the Location
      const log = guarded.log();
      expect(log).toContain('AH01617: user editor: authentication failure for "/dj/json/": Password Mismatch');
      expect(log).toContain("AH01618: user nobody not found: /dj/json/");
      expect(log).toContain("Authorization of user 'outsider' to access '/dj/json/' failed. User is not a member of any groups.");
    } finally {
      await guarded.stop();
    }
  }, 60_000);

  test("a 404 from Django's URL resolver", async () => {
    const response = await fetch(`${base}/no/such/page/`);
    expect(response.status).toBe(404);
    await response.text();
  });

  test("the validator saw no protocol violation", () => noProtocolTrouble(server));
});

/** Bottle, Falcon and Pyramid: the same few routes, in each framework's own words. */
for (const { name, module, alias, apt, json } of [
  { name: "Bottle", module: "bottle", alias: "/bottle", apt: "python3-bottle", json: (base: string) => ({ framework: "bottle", script_name: "/bottle/", url: `${base}/json?q=1`, self_url: "/bottle/json", q: "1" }) },
  { name: "Falcon", module: "falcon", alias: "/falcon", apt: "python3-falcon", json: (base: string) => ({ framework: "falcon", script_name: "/falcon", uri: `${base}/json?q=1`, q: "1" }) },
  { name: "Pyramid", module: "pyramid", alias: "/pyramid", apt: "python3-pyramid", json: (base: string) => ({ framework: "pyramid", script_name: "/pyramid", url: `${base}/json?q=1`, route_url: `${base}/json`, q: "1" }) },
]) {
  describe(`${name} under ${alias}`, () => {
    let server: RunningServer;
    let base: string;
    beforeAll(async () => {
      server = await serve(alias, join(FRAMEWORKS, `${module}.wsgi`), pythonWith(module, apt));
      base = `${server.url}${alias}`;
    });
    afterAll(() => server?.stop());

    test("GET JSON, with the prefix in its URLs", async () => {
      const response = await fetch(`${base}/json?q=1`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("application/json");
      expect(await response.json()).toEqual(json(base));
    });

    test("POST body echo (binary, 1 MB)", async () => {
      const data = randomBytes(1024 * 1024);
      const response = await fetch(`${base}/echo`, { method: "POST", body: data, headers: { "Content-Type": "application/x-test" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("application/x-test");
      const echoed = new Uint8Array(await response.arrayBuffer());
      expect(echoed.length).toBe(data.length);
      expect(sha256(echoed)).toBe(sha256(data));
    });

    test("a path parameter", async () => {
      if (module === "falcon") {
        expect(await (await fetch(`${base}/items/42`)).json()).toEqual({ item: 42, type: "int" });
        const notInt = await fetch(`${base}/items/forty-two`);
        expect(notInt.status).toBe(404);
        await notInt.text();
        const media = await fetch(`${base}/media`, { method: "POST", body: JSON.stringify({ a: [1, 2], b: "ü" }), headers: { "Content-Type": "application/json" } });
        expect(await media.json()).toEqual({ received: { a: [1, 2], b: "ü" } });
      } else {
        expect(await (await fetch(`${base}/hello/w%C3%B6rld`)).json()).toEqual({ hello: "wörld" });
      }
    });

    test("a redirect stays under the prefix", async () => {
      const response = await fetch(`${base}/go`, { redirect: "manual" });
      expect([302, 303]).toContain(response.status);
      expect(locationPath(response, base)).toBe(`${alias}/json`);
      await response.text();
    });

    test("404 for an unknown path", async () => {
      const response = await fetch(`${base}/no/such/route`);
      expect(response.status).toBe(404);
      await response.text();
    });

    test("the validator saw no protocol violation", () => noProtocolTrouble(server));
  });
}

describe("httpbin under /httpbin", () => {
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    server = await serve("/httpbin", join(FRAMEWORKS, "httpbin.wsgi"), pythonWith("httpbin", "python3-httpbin"));
    base = `${server.url}/httpbin`;
  });
  afterAll(() => server?.stop());

  test("/get: args, headers and the URL with the prefix", async () => {
    const body = await (await fetch(`${base}/get?a=1&b=two&b=three`, { headers: { "X-Test-Header": "yes" } })).json();
    expect(body.args).toEqual({ a: "1", b: ["two", "three"] });
    expect(body.headers["X-Test-Header"]).toBe("yes");
    expect(body.headers.Host).toBe(`127.0.0.1:${server.port}`);
    expect(body.url).toBe(`${base}/get?a=1&b=two&b=three`);
  });

  test("/post: a JSON body echoed", async () => {
    const payload = { name: "wsgi-bin", list: [1, 2, 3], nested: { ok: true }, text: "naïve" };
    const response = await fetch(`${base}/post?x=1`, { method: "POST", body: JSON.stringify(payload), headers: { "Content-Type": "application/json" } });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.json).toEqual(payload);
    expect(body.args).toEqual({ x: "1" });
    expect(body.headers["Content-Type"]).toBe("application/json");
    expect(body.headers["Content-Length"]).toBe(String(Buffer.byteLength(JSON.stringify(payload))));
  });

  test("/post: a form", async () => {
    const body = await (await fetch(`${base}/post`, { method: "POST", body: new URLSearchParams({ a: "1", b: "é" }) })).json();
    expect(body.form).toEqual({ a: "1", b: "é" });
  });

  test("/status/418", async () => {
    const response = await fetch(`${base}/status/418`);
    expect(response.status).toBe(418);
    expect(await response.text()).toContain("teapot");
  });

  test("/headers", async () => {
    const body = await (await fetch(`${base}/headers`, { headers: { "X-One": "1", "X-Two": "two words" } })).json();
    expect(body.headers["X-One"]).toBe("1");
    expect(body.headers["X-Two"]).toBe("two words");
  });

  test("/gzip: a gzip-encoded body", async () => {
    const response = await fetch(`${base}/gzip`, { decompress: false } as RequestInit);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-encoding")).toBe("gzip");
    const raw = new Uint8Array(await response.arrayBuffer());
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const body = JSON.parse(new TextDecoder().decode(Bun.gunzipSync(raw)));
    expect(body.gzipped).toBe(true);
  });

  test("/stream/5: five JSON lines", async () => {
    const response = await fetch(`${base}/stream/5`);
    expect(response.status).toBe(200);
    const lines = (await response.text()).trim().split("\n");
    expect(lines.length).toBe(5);
    expect(lines.map((line) => JSON.parse(line).id)).toEqual([0, 1, 2, 3, 4]);
    expect(JSON.parse(lines[0]!).url).toBe(`${base}/stream/5`);
  });

  test("/bytes/1024", async () => {
    const response = await fetch(`${base}/bytes/1024`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/octet-stream");
    expect((await response.arrayBuffer()).byteLength).toBe(1024);
  });

  test("the validator saw no protocol violation", () => noProtocolTrouble(server));
});
