// With --processes N every process counts its own requests, and a status request reaches one of
// them (SO_REUSEPORT). That one asks the supervisor, over the IPC channel it already has with each
// process, for everyone's figures: the supervisor asks every other process, waits for the answers (up
// to GATHER_MS; late ones are listed as missing), and replies with them and its own. Nothing is sent
// while nobody looks at the page.
import type { ProcessFigures, SupervisorFigures } from "./figures.ts";

export type StatusMessage =
  /** process -> supervisor: gather the others' figures for me. */
  | { status: "query"; id: number }
  /** supervisor -> process: send your figures. */
  | { status: "collect"; id: number }
  /** process -> supervisor: my figures, for gathering `id`. */
  | { status: "figures"; id: number; figures: ProcessFigures }
  /** supervisor -> the asking process: the others' figures and the supervisor's own. */
  | { status: "result"; id: number; figures: ProcessFigures[]; supervisor: SupervisorFigures; missing: number[] };

export function isStatusMessage(message: unknown): message is StatusMessage {
  return typeof message === "object" && message !== null && typeof (message as { status?: unknown }).status === "string";
}

const GATHER_MS = 1_000;

/** What the supervisor knows of one of its processes. */
export interface RelayChild {
  slot: number;
  pid: number;
  startedAt: number;
  ready: boolean;
  send(message: StatusMessage): void;
}

interface Gathering {
  asker: RelayChild;
  askerId: number;
  waiting: Set<number>;
  figures: ProcessFigures[];
  timer: Timer;
}

/** The supervisor's side. */
export class SupervisorRelay {
  private readonly startedAt = Date.now();
  private readonly gatherings = new Map<number, Gathering>();
  private nextId = 1;

  constructor(private readonly children: () => RelayChild[]) {}

  receive(from: RelayChild, message: StatusMessage): void {
    if (message.status === "query") this.gather(from, message.id);
    else if (message.status === "figures") {
      const gathering = this.gatherings.get(message.id);
      if (!gathering || !gathering.waiting.delete(from.pid)) return;
      gathering.figures.push(message.figures);
      if (gathering.waiting.size === 0) this.finish(message.id);
    }
  }

  private gather(asker: RelayChild, askerId: number): void {
    // Only those that reported ready: one still starting has no figures yet, and waiting for it
    // would hold every status request of a reload for GATHER_MS.
    const others = this.children().filter((child) => child.pid !== asker.pid && child.ready);
    const id = this.nextId++;
    const gathering: Gathering = {
      asker, askerId, waiting: new Set(others.map((child) => child.pid)), figures: [],
      timer: setTimeout(() => this.finish(id), GATHER_MS),
    };
    this.gatherings.set(id, gathering);
    for (const child of others) {
      try {
        child.send({ status: "collect", id });
      } catch {
        gathering.waiting.delete(child.pid); // exiting: reported missing below
      }
    }
    if (gathering.waiting.size === 0) this.finish(id);
  }

  private finish(id: number): void {
    const gathering = this.gatherings.get(id);
    if (!gathering) return;
    this.gatherings.delete(id);
    clearTimeout(gathering.timer);
    const children = this.children();
    const answered = new Set([gathering.asker.pid, ...gathering.figures.map((f) => f.pid)]);
    try {
      gathering.asker.send({
        status: "result",
        id: gathering.askerId,
        figures: gathering.figures,
        supervisor: {
          pid: process.pid,
          startedAt: this.startedAt,
          children: children.map(({ slot, pid, startedAt, ready }) => ({ slot, pid, startedAt, ready })),
        },
        missing: children.filter((child) => child.ready && !answered.has(child.pid)).map((child) => child.pid),
      });
    } catch {
      // The asker went away meanwhile: nobody to answer.
    }
  }
}

export interface Gathered {
  figures: ProcessFigures[];
  supervisor: SupervisorFigures | null;
  missing: number[];
}

/** A supervised process's side: answers the supervisor's requests, and asks it for the others'. */
export class ChildRelay {
  private readonly pending = new Map<number, (result: Gathered) => void>();
  private nextId = 1;

  constructor(private readonly own: () => ProcessFigures) {
    process.on("message", (message: unknown) => {
      if (!isStatusMessage(message)) return;
      if (message.status === "collect") this.send({ status: "figures", id: message.id, figures: this.own() });
      else if (message.status === "result") {
        const resolve = this.pending.get(message.id);
        this.pending.delete(message.id);
        resolve?.({ figures: [this.own(), ...message.figures], supervisor: message.supervisor, missing: message.missing });
      }
    });
  }

  private send(message: StatusMessage): void {
    process.send?.(message);
  }

  /** This process's figures and every other's the supervisor could gather. */
  gather(): Promise<Gathered> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      // The supervisor answers within GATHER_MS; should it not (it is exiting), answer alone.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ figures: [this.own()], supervisor: null, missing: [] });
      }, GATHER_MS * 2);
      this.pending.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      this.send({ status: "query", id });
    });
  }
}
