// A real headless Chromium (Debian's `chromium`) driven over the DevTools protocol: a WebSocket from
// Bun to the page target, commands by id (Page.navigate, Runtime.evaluate, Page.captureScreenshot).
// No Chromium: launch() throws saying so; tests never skip it.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function chromiumPath(): string {
  const found = ["chromium", "chromium-browser", "google-chrome"].map((name) => Bun.which(name)).find(Boolean);
  if (!found) throw new Error("Chromium is not installed: the status page test needs a real browser (Debian: apt-get install chromium).");
  return found;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();

  private constructor(private readonly proc: Subprocess, private readonly socket: WebSocket, private readonly profile: string) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data));
      const waiter = message.id ? this.pending.get(message.id) : undefined;
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
      else waiter.resolve(message.result);
    });
  }

  static async launch(size = { width: 1200, height: 900 }): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), "wsgi-bin-chromium-"));
    const proc = Bun.spawn([
      chromiumPath(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
      "--remote-debugging-port=0", "--remote-allow-origins=*", `--user-data-dir=${profile}`,
      `--window-size=${size.width},${size.height}`, "about:blank",
    ], { stdout: "ignore", stderr: "pipe" });
    // Chromium says where its DevTools endpoint is on stderr.
    const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const deadline = Date.now() + 30_000;
    let endpoint: string | undefined;
    while (!endpoint) {
      const read = await Promise.race([reader.read(), Bun.sleep(Math.max(deadline - Date.now(), 0)).then(() => null)]);
      if (!read || read.done) {
        proc.kill("SIGKILL");
        throw new Error(`chromium gave no DevTools endpoint:\n${text}`);
      }
      text += decoder.decode(read.value, { stream: true });
      endpoint = /DevTools listening on (ws:\/\/\S+)/.exec(text)?.[1];
    }
    void (async () => { while (!(await reader.read()).done); })().catch(() => {}); // keep draining stderr
    const httpBase = endpoint.replace(/^ws:\/\/([^/]+)\/.*$/, "http://$1");
    const targets = (await (await fetch(`${httpBase}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
    const page = targets.find((target) => target.type === "page");
    if (!page) throw new Error(`no page target in ${JSON.stringify(targets)}`);
    const socket = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("DevTools WebSocket failed")), { once: true });
    });
    const browser = new Browser(proc, socket, profile);
    await browser.send("Page.enable");
    await browser.send("Runtime.enable");
    await browser.send("Emulation.setDeviceMetricsOverride", { width: size.width, height: size.height, deviceScaleFactor: 1, mobile: false });
    return browser;
  }

  send(method: string, params: object = {}): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async navigate(url: string): Promise<void> {
    const result = await this.send("Page.navigate", { url });
    if (result.errorText) throw new Error(`navigating to ${url}: ${result.errorText}`);
  }

  /** Evaluates an expression in the page; its value (JSON-serialisable). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (result.exceptionDetails) throw new Error(`in the page: ${JSON.stringify(result.exceptionDetails)}`);
    return result.result.value as T;
  }

  /** Waits until `expression` is truthy in the page. */
  async waitFor(expression: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate<boolean>(`Boolean(${expression})`))) {
      if (Date.now() > deadline) throw new Error(`page never satisfied: ${expression}`);
      await Bun.sleep(100);
    }
  }

  async screenshot(): Promise<Buffer> {
    const result = await this.send("Page.captureScreenshot", { format: "png" });
    return Buffer.from(result.data, "base64");
  }

  async close(): Promise<void> {
    this.socket.close();
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 3000);
    await this.proc.exited;
    clearTimeout(timer);
    rmSync(this.profile, { recursive: true, force: true });
  }
}
