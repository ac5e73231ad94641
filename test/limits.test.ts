// LimitRequestBody (--limit-request-body): 413 before the app runs for a declared length over it,
// 413 from the app's read when a chunked body crosses it; the server keeps serving.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, getJson, rawRequest, run, start, type RunningServer } from "./helpers/server.ts";

const LIMIT = 100_000;

function chunked(path: string, size: number): string {
  const piece = "x".repeat(10_000);
  let body = "";
  for (let sent = 0; sent < size; sent += piece.length) body += `${piece.length.toString(16)}\r\n${piece}\r\n`;
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}0\r\n\r\n`;
}

describe("LimitRequestBody", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({ args: ["--limit-request-body", String(LIMIT), "--alias", `/r=${fixture("read-body.wsgi")}`] });
  });
  afterAll(() => server?.stop());

  test("a declared body at the limit is read whole", async () => {
    const response = await fetch(`${server.url}/r`, { method: "POST", body: "x".repeat(LIMIT) });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(String(LIMIT));
  });

  test("a declared body over the limit gets 413 and the app does not run", async () => {
    const before = (await getJson(`${server.url}/r/calls`)).count;
    const response = await fetch(`${server.url}/r`, { method: "POST", body: "x".repeat(LIMIT + 1) });
    expect(response.status).toBe(413);
    expect((await getJson(`${server.url}/r/calls`)).count).toBe(before);
    expect(server.log()).toContain(`larger than the configured limit of ${LIMIT}`);
  });

  test("a chunked body crossing the limit gets 413; one under it is read whole", async () => {
    const over = (await rawRequest(server.port, chunked("/r", LIMIT + 20_000))).toString("latin1");
    expect(over).toStartWith("HTTP/1.1 413 ");
    expect(server.log()).toContain("request body exceeds the server's LimitRequestBody");
    const under = (await rawRequest(server.port, chunked("/r", 50_000))).toString("latin1");
    expect(under).toStartWith("HTTP/1.1 200 ");
    expect(under).toContain("\r\n\r\n");
    const response = await fetch(`${server.url}/r`, { method: "POST", body: "abc" });
    expect(await response.text()).toBe("3");
  });

  test("a bad value is a usage error", async () => {
    const result = await run(["--limit-request-body", "lots", "--alias", `/r=${fixture("read-body.wsgi")}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--limit-request-body");
  });
});
