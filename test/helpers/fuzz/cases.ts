// One fuzz case: the requests sent on one connection (pipelined when several), what was done to
// them, and how the bytes are cut into writes. Case `index` of seed `seed` is always the same case.
import { blind, refuse, smuggledRequest } from "./mutations.ts";
import { Random } from "./random.ts";
import { type FuzzLimits, type PlannedRequest, planRequest, wireBytes } from "./requests.ts";

export type Disposition =
  | { kind: "clean" }
  | { kind: "refuse"; name: string; statuses: number[]; inHead: boolean }
  | { kind: "blind" };

export interface CaseRequest {
  plan: PlannedRequest;
  disposition: Disposition;
}

export interface FuzzCase {
  index: number;
  /** clean: valid requests, every answer known; refuse: one request the server must refuse; blind: byte mutations. */
  kind: "clean" | "refuse" | "blind";
  requests: CaseRequest[];
  /** Ids of requests hidden inside bodies or behind a refused request: answering one is a failure. */
  smuggled: string[];
  bytes: Buffer;
  /** Where the bytes are cut into writes, and the pause before each piece (ms). */
  writes: { end: number; delayMs: number }[];
  /** The client shuts its sending side after the last write (as `printf ... | nc -N` does). */
  halfClose: boolean;
  /** What was done, for the failure report. */
  notes: string[];
}

export function makeCase(seed: number, index: number, limits: FuzzLimits): FuzzCase {
  const random = new Random(seed, index);
  const kind = random.weighted([[35, "clean"], [30, "refuse"], [35, "blind"]] as const);
  const count = random.weighted([[50, 1], [25, 2], [15, 3], [7, 4], [3, 5]] as const);
  const notes: string[] = [];
  const smuggled: string[] = [];
  const refused = kind === "refuse" ? random.int(count) : -1;
  const requests: CaseRequest[] = [];
  const pieces: Buffer[] = [];
  const heads: [number, number][] = [];
  let length = 0;
  for (let i = 0; i < count; i++) {
    const id = `c${index}r${i}`;
    // Hidden requests ride only where the framing is known: in a blind case a mutated length may
    // legitimately turn a body's tail into a request.
    const smuggleId = `S${index}x${i}`;
    const smuggle = kind !== "blind" && i !== refused && random.chance(0.08) ? smuggledRequest(smuggleId) : undefined;
    if (smuggle) smuggled.push(smuggleId);
    const plan = planRequest(random, limits, { id, allowHead: kind === "clean", last: i === count - 1, smuggle });
    let bytes = wireBytes(plan.wire);
    let disposition: Disposition = { kind: kind === "blind" ? "blind" : "clean" };
    if (i === refused) {
      const refusal = refuse(random, plan, limits, smuggleId);
      bytes = refusal.bytes;
      smuggled.push(...refusal.smuggled);
      disposition = { kind: "refuse", name: refusal.name, statuses: refusal.statuses, inHead: refusal.inHead };
      notes.push(`request ${i}: ${refusal.name}`);
    } else if (kind !== "blind" && random.chance(0.04)) {
      // Empty lines before a request line are to be ignored (RFC 9112 2.2; Apache skips up to 10).
      bytes = Buffer.concat([Buffer.from(random.pick(["\r\n", "\r\n\r\n"])), bytes]);
      notes.push(`request ${i}: empty lines before it`);
    }
    if (refused >= 0 && i > refused) smuggled.push(id); // behind a refused request: never to be read
    const headEnd = bytes.indexOf("\r\n\r\n");
    heads.push([length, length + (headEnd < 0 ? bytes.length : headEnd + 4)]);
    length += bytes.length;
    pieces.push(bytes);
    requests.push({ plan, disposition });
  }
  let bytes: Buffer = Buffer.concat(pieces);
  let truncated = false;
  if (kind === "blind") {
    const mutations = random.range(1, 3);
    for (let m = 0; m < mutations && !truncated; m++) {
      const mutation = blind(random, bytes, heads);
      bytes = mutation.bytes;
      truncated = mutation.truncated;
      notes.push(mutation.name);
    }
  }
  return {
    index,
    kind,
    requests,
    smuggled,
    bytes,
    writes: cutWrites(random, bytes.length),
    halfClose: random.chance(truncated ? 0.5 : 0.25),
    notes,
  };
}

/** Cuts `length` bytes into 1-8 writes, with pauses of 0-15 ms before each. */
function cutWrites(random: Random, length: number): { end: number; delayMs: number }[] {
  const count = length < 2 || random.chance(0.4) ? 1 : random.range(2, Math.min(8, length));
  const ends = new Set<number>([length]);
  while (ends.size < count) ends.add(random.range(1, length - 1));
  return [...ends].sort((a, b) => a - b).map((end) => ({ end, delayMs: random.chance(0.3) ? 0 : random.range(1, 15) }));
}
