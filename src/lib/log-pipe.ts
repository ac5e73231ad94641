// onLog: the error log is written by this thread, by every worker thread and by Python itself (the
// adapter's os.write), all to one file descriptor. To hand each line to a JavaScript callback, that
// descriptor is the write end of a pipe this thread reads. The write end is non-blocking with a
// 1 MiB buffer: a burst larger than that while this thread is busy drops lines rather than blocking
// a worker (or this very thread, which is also the reader).
import { closeSync, createReadStream } from "node:fs";
import koffi from "../ffi/koffi.ts";

const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const F_SETFL = 4;
const F_SETPIPE_SZ = 1031;

export class LogPipe {
  readonly fd: number;
  private readonly readFd: number;
  private closed = false;
  private readonly done: Promise<void>;

  constructor(onLine: (line: string) => void) {
    const libc = koffi.load("libc.so.6");
    const pipe2 = libc.func("int pipe2(_Out_ int *fds, int flags)");
    const fcntl = libc.func("int fcntl(int fd, int cmd, int arg)");
    const fds = new Int32Array(2);
    if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error("could not create a pipe for onLog");
    this.readFd = fds[0]!;
    this.fd = fds[1]!;
    fcntl(this.fd, F_SETFL, O_NONBLOCK);
    fcntl(this.fd, F_SETPIPE_SZ, 1 << 20); // best effort: the default 64 KiB otherwise
    const stream = createReadStream("", { fd: this.readFd, encoding: "utf8" });
    let pending = "";
    stream.on("data", (text) => {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        try {
          onLine(line);
        } catch {
          // A throwing callback must not stop the log.
        }
      }
    });
    this.done = new Promise((resolve) => stream.on("close", () => resolve()));
  }

  /** Closes the write end (after the last writer is gone): the reader delivers what is left and ends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    await this.done;
  }
}
