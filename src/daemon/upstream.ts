// One connection from a front process to a daemon process's unix socket: bytes written with
// backpressure (what the socket cannot take waits in the outbox, http/wire/outbox.ts), bytes received queued for the proxy to
// read, the socket paused while too many wait unread (the client is slower than the daemon).
import type { Socket } from "bun";
import { Outbox } from "../http/wire/outbox.ts";
import { noteGarbage } from "../http/wire/garbage.ts";

/** Unread response bytes past which the socket stops reading. */
const HIGH_WATER = 1 << 20;

export class Upstream {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private paused = false;
  private waiter: (() => void) | null = null;
  private readonly outbox: Outbox;
  closed = false;
  /** It served a request before this one (a pooled connection): see proxy.ts on retrying. */
  reused = false;
  /** When it was last put back in the idle pool. */
  idleSince = 0;

  private constructor(private readonly socket: Socket<Upstream>) {
    this.outbox = new Outbox(socket);
  }

  /** Connects to a daemon's socket; the error when nobody listens there (dead, not started, draining). */
  static connect(path: string): Promise<Upstream | Error> {
    return Bun.connect<Upstream>({
      unix: path,
      socket: {
        open: (socket) => {
          socket.data = new Upstream(socket);
        },
        data: (socket, bytes) => socket.data?.receive(bytes),
        drain: (socket) => socket.data?.drain(),
        end: (socket) => socket.data?.onClose(),
        close: (socket) => socket.data?.onClose(),
        error: (socket) => socket.data?.onClose(),
        connectError: () => {},
      },
    }).then((socket) => socket.data, (error: Error) => error);
  }

  /** The next bytes the daemon sent; null once the connection closed and everything was read. */
  read(): Buffer | null | Promise<Buffer | null> {
    const bytes = this.queue.shift();
    if (bytes) {
      this.queued -= bytes.length;
      if (this.paused && this.queued < HIGH_WATER / 2) {
        this.paused = false;
        this.socket.resume();
      }
      return bytes;
    }
    if (this.closed) return null;
    return new Promise<void>((resolve) => (this.waiter = resolve)).then(() => this.read());
  }

  /** Writes now what the socket takes, keeps the rest; false when the caller should wait for drained(). */
  write(bytes: Uint8Array): boolean {
    return !this.closed && this.outbox.write(bytes);
  }

  /** Settles once the outbox is empty: true, or false if the connection closed first. */
  drained(): Promise<boolean> {
    return this.outbox.drained(this.closed);
  }

  /** Done with it: closed once what is written has gone. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    this.wake();
  }

  /** At once (the client went away, or the exchange failed): the daemon's app sees its client gone. */
  cut(): void {
    if (this.closed) return;
    this.socket.terminate();
    this.onClose();
  }

  private receive(bytes: Buffer): void {
    noteGarbage(bytes.length); // a big download's buffers, collected as the HTTP layer's are
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.paused && this.queued >= HIGH_WATER) {
      this.paused = true;
      this.socket.pause();
    }
    this.wake();
  }

  private drain(): void {
    this.outbox.flush();
  }

  private onClose(): void {
    this.closed = true;
    this.outbox.close();
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}
