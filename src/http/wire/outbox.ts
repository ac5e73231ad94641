// Writes with backpressure over one socket (a client's, or a front's to a daemon): what the socket
// cannot take at once waits here, as a view: the writer leaves those bytes untouched until drained()
// settles, so nothing is copied. The socket's drain event calls flush().

export class Outbox {
  private readonly pending: Uint8Array[] = [];
  private waiters: ((flushed: boolean) => void)[] = [];

  constructor(private readonly socket: { write(bytes: Uint8Array): number }) {}

  get empty(): boolean {
    return this.pending.length === 0;
  }

  /** Writes now what the socket takes, keeps the rest; false when the caller should wait for drained(). */
  write(bytes: Uint8Array): boolean {
    if (this.pending.length === 0) {
      const written = this.socket.write(bytes);
      if (written === bytes.length) return true;
      if (written < 0) return false;
      bytes = bytes.subarray(written);
    }
    this.pending.push(bytes);
    return false;
  }

  /** Settles once everything is written: true, or false if the socket closed first. */
  drained(closed: boolean): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    if (this.pending.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The socket can take more: writes what waits. True once everything went (drained() settles). */
  flush(): boolean {
    while (this.pending.length) {
      const bytes = this.pending[0]!;
      const written = this.socket.write(bytes);
      if (written < 0) return false;
      if (written < bytes.length) {
        this.pending[0] = bytes.subarray(written);
        return false;
      }
      this.pending.shift();
    }
    this.settle(true);
    return true;
  }

  /** The socket closed: what waits is dropped, drained() settles false. */
  close(): void {
    this.pending.length = 0;
    this.settle(false);
  }

  private settle(flushed: boolean): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve(flushed);
  }
}
