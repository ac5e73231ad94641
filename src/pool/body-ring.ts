// The HTTP thread's side of a streamed body's ring of pieces in the channel (see "Streaming" in
// channel.ts): which unsent pieces to write next, and giving them back to the worker.
import { type Channel, FILL, PAYLOAD, PIECES, PUBLISHED, RELEASED, START } from "./channel.ts";

/** Pieces that follow one another in the data area, written with one socket write. */
export interface Run {
  bytes: Uint8Array;
  /** Body bytes among them (they hold the chunked framing too when the worker framed them). */
  payload: number;
  pieces: number;
}

export class BodyRing {
  private readonly control: Int32Array;
  /**
   * The most one write takes: half the area, so that the worker can fill the other half meanwhile.
   * Fewer, larger writes are most of what a download costs the HTTP thread: per write, not per byte.
   */
  private readonly mostPerWrite: number;

  constructor(private readonly channel: Channel) {
    this.control = channel.control;
    this.mostPerWrite = channel.dataSize >> 1;
  }

  /** The oldest unsent piece and those right after it in the area, up to mostPerWrite; null if none is unsent. */
  nextRun(): Run | null {
    const control = this.control;
    const published = Atomics.load(control, PUBLISHED); // the pieces before it are written in full
    const first = control[RELEASED]!;
    if (first === published) return null;
    let piece = first & (PIECES - 1);
    const start = control[START + piece]!;
    let end = start + control[FILL + piece]!;
    let payload = control[PAYLOAD + piece]!;
    let pieces = 1;
    while (((published - first - pieces) | 0) > 0) {
      piece = (first + pieces) & (PIECES - 1);
      const fill = control[FILL + piece]!;
      if (control[START + piece] !== end || end + fill - start > this.mostPerWrite) break;
      end += fill;
      payload += control[PAYLOAD + piece]!;
      pieces++;
    }
    return { bytes: this.channel.data.subarray(start, end), payload, pieces };
  }

  /** A run was written: the worker may reuse its room. */
  release(run: Run): void {
    Atomics.add(this.control, RELEASED, run.pieces);
  }

  /** Whether the worker, waiting (ToMain.Full), is to go on: half the ring, pieces and bytes, is free. */
  halfFree(): boolean {
    const control = this.control;
    const published = Atomics.load(control, PUBLISHED);
    const unsent = (published - control[RELEASED]!) | 0;
    if (unsent > PIECES / 2) return false;
    let bytes = 0;
    for (let i = 1; i <= unsent; i++) bytes += control[FILL + ((published - i) & (PIECES - 1))]!;
    return bytes <= this.channel.dataSize / 2;
  }

  /** Once the worker is idle: pieces never sent (the client went away) are dropped. */
  dropUnsent(): void {
    Atomics.store(this.control, RELEASED, Atomics.load(this.control, PUBLISHED));
  }
}
