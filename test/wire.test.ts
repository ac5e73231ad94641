// The HTTP/1.1 layer on the wire: response framing (Content-Length honoured exactly, chunked,
// HTTP/1.0), keep-alive and pipelining, request targets, Expect: 100-continue, unread bodies.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixture, run, type RunningServer, start, tempDir } from "./helpers/server.ts";
import { request, WireClient } from "./helpers/wire-client.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await start({ args: ["--alias", `/wire=${fixture("wire.wsgi")}`, "--threads", "2"] });
});
afterAll(async () => {
  await server.stop();
});

async function one(raw: string, head = false) {
  const client = new WireClient(server.port);
  await client.send(raw);
  const response = await client.response({ head });
  return { response, client };
}

async function closedCount(name: string): Promise<number> {
  const { response, client } = await one(request("/wire/closed"));
  client.close();
  return JSON.parse(response.body.toString())[name] ?? 0;
}

describe("Content-Length from the app is honoured exactly", () => {
  test("a complete body longer than declared is cut; the connection stays usable", async () => {
    const { response, client } = await one(request("/wire/length-long"));
    expect(response.header("content-length")).toBe("5");
    expect(response.body.toString()).toBe("01234");
    await client.send(request("/wire/no-read"));
    const next = await client.response();
    expect(next.body.toString()).toBe("did not read"); // not "56789..."
    client.close();
    await server.waitForLog(/more than its Content-Length of 5 bytes/);
  });

  test("Content-Length and Content-Type given twice go out once, the last of each, as mod_wsgi sends them", async () => {
    for (const path of ["/wire/length-twice", "/wire/length-twice-stream"]) {
      const { response, client } = await one(request(path));
      const named = (name: string) => response.headers.filter(([n]) => n === name).map(([, value]) => value);
      expect(named("content-length")).toEqual(["5"]);
      expect(named("content-type")).toEqual(path.endsWith("stream") ? ["text/plain"] : ["text/html"]);
      expect(response.body.toString()).toBe("01234");
      await client.send(request("/wire/no-read"));
      expect((await client.response()).body.toString()).toBe("did not read");
      client.close();
    }
  });

  test("a complete body shorter than declared: the bytes there are, then the connection closes; logged", async () => {
    const { response, client } = await one(request("/wire/length-short"));
    expect(response.header("content-length")).toBe("10");
    expect(response.incomplete).toBe(true);
    expect(response.body.toString()).toBe("abc");
    expect(await client.closed()).toBe(true);
    await server.waitForLog(/ended after 3 bytes, short of its Content-Length of 10/);
  });

  test("a streamed body keeps the app's Content-Length (no chunked), is cut at it, and close() runs", async () => {
    const before = await closedCount("length-long-stream");
    const { response, client } = await one(request("/wire/length-long-stream"));
    expect(response.header("content-length")).toBe("5");
    expect(response.header("transfer-encoding")).toBeUndefined();
    expect(response.body.toString()).toBe("01234");
    client.close();
    await Bun.sleep(100);
    expect(await closedCount("length-long-stream")).toBe(before + 1);
  });

  test("a streamed body shorter than declared closes the connection", async () => {
    const { response, client } = await one(request("/wire/length-short-stream"));
    expect(response.header("content-length")).toBe("10");
    expect(response.body.toString()).toBe("abc");
    expect(response.incomplete).toBe(true);
    expect(await client.closed()).toBe(true);
  });
});

describe("framing without a Content-Length", () => {
  test("a complete body gets its length", async () => {
    const { response, client } = await one(request("/wire/env"));
    expect(Number(response.header("content-length"))).toBe(response.body.length);
    client.close();
  });

  test("HTTP/1.1 streamed: chunked, whole, across the channel's size", async () => {
    const { response, client } = await one(request("/wire/stream-big"));
    expect(response.header("transfer-encoding")).toBe("chunked");
    expect(response.incomplete).toBe(false);
    expect(response.body.length).toBe(3 * 700 * 1024);
    expect(response.body[0]).toBe(65);
    expect(response.body.at(-1)).toBe(67);
    client.close();
  });

  test("HTTP/1.0 streamed: no chunked encoding, the end of the connection ends the body", async () => {
    const { response, client } = await one(request("/wire/stream", "", "GET", "HTTP/1.0"));
    expect(response.header("transfer-encoding")).toBeUndefined();
    expect(response.framing).toBe("close");
    expect(response.body.toString()).toBe("one two three");
    client.close();
  });

  test("an app failing after its first chunk: no last chunk, the connection is cut, close() runs", async () => {
    const before = await closedCount("fail-after");
    const { response, client } = await one(request("/wire/fail-after"));
    expect(response.body.toString()).toBe("first");
    expect(response.incomplete).toBe(true);
    expect(await client.closed()).toBe(true);
    expect(await closedCount("fail-after")).toBe(before + 1);
  });

  test("204 and 304 carry no body, no length and no chunked encoding; the connection goes on", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/wire/no-content") + request("/wire/not-modified") + request("/wire/no-read"));
    const noContent = await client.response();
    expect(noContent.status).toBe(204);
    expect(noContent.header("transfer-encoding")).toBeUndefined();
    expect(noContent.header("content-length")).toBeUndefined();
    const notModified = await client.response();
    expect(notModified.status).toBe(304);
    expect(notModified.header("etag")).toBe('"x"');
    const last = await client.response();
    expect(last.body.toString()).toBe("did not read");
    client.close();
  });
});

describe("connections", () => {
  test("pipelined requests are answered in order on one connection", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/wire/length-long") + request("/wire/env?n=2") + request("/wire/stream"));
    expect((await client.response()).body.toString()).toBe("01234");
    expect(JSON.parse((await client.response()).body.toString()).QUERY_STRING).toBe("n=2");
    expect((await client.response()).body.toString()).toBe("one two three");
    client.close();
  });

  test("HTTP/1.0: SERVER_PROTOCOL says so; keep-alive only when asked, with Connection: keep-alive", async () => {
    const { response, client } = await one(request("/wire/env", "Connection: keep-alive\r\n", "GET", "HTTP/1.0"));
    expect(JSON.parse(response.body.toString()).SERVER_PROTOCOL).toBe("HTTP/1.0");
    expect(response.header("connection")).toBe("keep-alive");
    await client.send(request("/wire/env", "", "GET", "HTTP/1.0"));
    const second = await client.response();
    expect(second.status).toBe(200);
    expect(await client.closed()).toBe(true);
  });

  test("Connection: close is honoured", async () => {
    const { response, client } = await one(request("/wire/env", "Connection: close\r\n"));
    expect(response.header("connection")).toBe("close");
    expect(await client.closed()).toBe(true);
  });

  test("an app that does not read the body: a correct response, and the next request on the connection works", async () => {
    const client = new WireClient(server.port);
    const body = "x".repeat(30_000);
    await client.send(`POST /wire/no-read HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expect((await client.response()).body.toString()).toBe("did not read");
    await client.send(`POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello`);
    expect((await client.response()).body.toString()).toBe("5:hello");
    client.close();
  });

  test("Expect: 100-continue gets 100 Continue once the app reads, then the response", async () => {
    const client = new WireClient(server.port);
    await client.send("POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    const interim = await client.response();
    expect(interim.status).toBe(100);
    await client.send("data");
    expect((await client.response()).body.toString()).toBe("4:data");
    client.close();
  });

  test("a chunked request body is decoded; the connection goes on after it", async () => {
    const client = new WireClient(server.port);
    await client.send("POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n");
    expect((await client.response()).body.toString()).toBe("11:hello world");
    await client.send(request("/wire/no-read"));
    expect((await client.response()).body.toString()).toBe("did not read");
    client.close();
  });
});

describe("request targets", () => {
  const env = async (target: string) => {
    const { response, client } = await one(`GET ${target} HTTP/1.1\r\nHost: example.org:8080\r\n\r\n`);
    client.close();
    return { status: response.status, env: response.status === 200 ? JSON.parse(response.body.toString()) : null };
  };

  test("dot segments are resolved for routing; REQUEST_URI is the raw target", async () => {
    const { env: e } = await env("/wire/x/../env?a=1");
    expect(e.PATH_INFO).toBe("/env");
    expect(e.REQUEST_URI).toBe("/wire/x/../env?a=1");
  });

  test("%2e%2e is a dot segment too, and cannot climb above the root: 400", async () => {
    expect((await env("/wire/x/%2e%2e/env")).env.PATH_INFO).toBe("/env");
    expect((await env("/../wire/env")).status).toBe(400);
    expect((await env("/wire/%2E%2E/%2e%2e/x")).status).toBe(400);
  });

  test("repeated slashes are merged, as mod_wsgi's PATH_INFO has them", async () => {
    const { env: e } = await env("//wire///env//x?y");
    expect(e.SCRIPT_NAME).toBe("/wire");
    expect(e.PATH_INFO).toBe("/env/x");
    expect(e.REQUEST_URI).toBe("//wire///env//x?y");
  });

  test("an encoded slash is a 404 (AllowEncodedSlashes Off); an encoded NUL a 400", async () => {
    expect((await env("/wire/a%2Fb")).status).toBe(404);
    expect((await env("/wire/a%00b")).status).toBe(400);
  });

  test("SERVER_NAME comes from Host; an absolute-form target's authority overrides it", async () => {
    expect((await env("/wire/env")).env.SERVER_NAME).toBe("example.org");
    const { env: e } = await env("http://other.example:9/wire/env?q");
    expect(e.SERVER_NAME).toBe("other.example");
    expect(e.PATH_INFO).toBe("/env");
    expect(e.QUERY_STRING).toBe("q");
  });

  test("SERVER_NAME is Host's name lowered, without a final dot; SERVER_PORT its port as a number (Apache's fix_hostname)", async () => {
    const ask = async (host: string) => {
      const { response, client } = await one(`GET /wire/env HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      client.close();
      const e = JSON.parse(response.body.toString());
      return [e.SERVER_NAME, e.SERVER_PORT, e.HTTP_HOST];
    };
    expect(await ask("WWW.Example.ORG.:08080")).toEqual(["www.example.org", "8080", "WWW.Example.ORG.:08080"]);
    expect(await ask("[::1]:81")).toEqual(["[::1]", "81", "[::1]:81"]);
    expect(await ask("under_score-dash.test")).toEqual(["under_score-dash.test", "80", "under_score-dash.test"]);
  });

  test("an absolute-form target's authority is HTTP_HOST too, as in Apache", async () => {
    const { env: e } = await env("http://Other.Example:9/wire/env");
    expect([e.HTTP_HOST, e.SERVER_NAME, e.SERVER_PORT]).toEqual(["Other.Example:9", "other.example", "9"]);
    expect(e.REQUEST_URI).toBe("http://Other.Example:9/wire/env"); // Apache's too: the target as sent
  });

  test("Proxy-Authorization never reaches environ (Apache keeps it from CGI and mod_wsgi)", async () => {
    const { response, client } = await one(request("/wire/env", "Proxy-Authorization: Basic dTpw\r\n"));
    client.close();
    expect(Object.keys(JSON.parse(response.body.toString())).filter((key) => key.includes("AUTH"))).toEqual([]);
  });

  test("repeated request headers reach environ joined by ', '", async () => {
    const { response, client } = await one(request("/wire/env", "X-Many: a\r\nX-Many: b\r\nx-many: c\r\n"));
    expect(JSON.parse(response.body.toString()).HTTP_X_MANY).toBe("a, b, c");
    client.close();
  });
});

describe("wsgi.file_wrapper", () => {
  let files: RunningServer;
  let path: string;
  const data = Buffer.alloc(3 * 1024 * 1024 + 7);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 10)) & 255;

  beforeAll(async () => {
    path = join(tempDir(), "data.bin");
    writeFileSync(path, data);
    files = await start({ args: ["--alias", `/files=${fixture("file-wrapper.wsgi")}`] });
  });
  afterAll(async () => {
    await files.stop();
  });

  const reads = async () => JSON.parse(await (await fetch(`${files.url}/files/reads`)).text()).count as number;

  test("a real file is sent from its descriptor: every byte, and no read() in Python", async () => {
    const response = await fetch(`${files.url}/files/whole?${path}`);
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(data.length);
    expect(body.equals(data)).toBe(true);
    expect(await reads()).toBe(0);
  });

  test("the offset of a prior seek and the declared Content-Length are respected", async () => {
    const client = new WireClient(files.port);
    await client.send(request(`/files/range?${path}`));
    const response = await client.response();
    expect(response.header("content-length")).toBe("20");
    expect(response.body.equals(data.subarray(10, 30))).toBe(true);
    await client.send(request("/files/reads"));
    expect(JSON.parse((await client.response()).body.toString()).count).toBe(0); // and the connection went on
    client.close();
  });

  test("any other file-like object is read in blksize pieces", async () => {
    const response = await fetch(`${files.url}/files/filelike`);
    expect(await response.text()).toBe("0123456789".repeat(1000));
  });
});

describe("--trust-proxy (WSGITrustedProxies)", () => {
  const forwarded = "X-Forwarded-For: 203.0.113.9, 10.1.1.1, 127.0.0.1\r\nX-Forwarded-Proto: https\r\n" +
    "X-Forwarded-Host: public.example\r\nX-Forwarded-Port: 443\r\n";
  const environ = async (port: number) => {
    const client = new WireClient(port);
    await client.send(request("/wire/env", forwarded));
    const response = await client.response();
    client.close();
    return JSON.parse(response.body.toString());
  };

  test("from a trusted proxy: client address, scheme, host and port come from X-Forwarded-*", async () => {
    const trusting = await start({ args: ["--alias", `/wire=${fixture("wire.wsgi")}`, "--trust-proxy", "127.0.0.1", "--trust-proxy", "10.0.0.0/8"] });
    try {
      const env = await environ(trusting.port);
      expect(env.REMOTE_ADDR).toBe("203.0.113.9"); // 127.0.0.1 and 10.1.1.1 are our proxies
      expect(env["wsgi.url_scheme"]).toBe("https");
      expect(env.HTTPS).toBeUndefined(); // mod_wsgi sets it for itself and removes it from environ
      expect(env.HTTP_HOST).toBe("public.example");
      expect(env.SERVER_NAME).toBe("public.example");
      expect(env.SERVER_PORT).toBe("443");
    } finally {
      await trusting.stop();
    }
  });

  test("from any other peer the headers are removed and change nothing", async () => {
    const elsewhere = await start({ args: ["--alias", `/wire=${fixture("wire.wsgi")}`, "--trust-proxy", "10.0.0.0/8"] });
    try {
      const env = await environ(elsewhere.port);
      expect(env.REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(env["wsgi.url_scheme"]).toBe("http");
      expect(env.HTTP_HOST).toBe("test");
      expect(env.HTTP_X_FORWARDED_FOR).toBeUndefined();
      expect(env.HTTP_X_FORWARDED_PROTO).toBeUndefined();
      expect(env.HTTP_X_FORWARDED_HOST).toBeUndefined();
    } finally {
      await elsewhere.stop();
    }
  });

  test("without --trust-proxy the headers pass through untouched, as in mod_wsgi", async () => {
    const env = await environ(server.port);
    expect(env.HTTP_X_FORWARDED_FOR).toBe("203.0.113.9, 10.1.1.1, 127.0.0.1");
    expect(env.REMOTE_ADDR).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  test("a bad address is a usage error", async () => {
    const result = await run(["--alias", `/wire=${fixture("wire.wsgi")}`, "--trust-proxy", "10.0.0.300/8"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--trust-proxy: WSGITrustedProxies: '10.0.0.300/8' is not an IP address");
  });
});
