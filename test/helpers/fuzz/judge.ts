// Holds what the server sent on a case's connection against what it must send: always well-formed
// responses and no request answered that was hidden or refused or answered already; for clean
// requests exactly their answers (status, framing, Connection, the app's echo of the body); for a
// refused request the status Apache gives, or a close, and nothing read after it.
import type { FuzzCase } from "./cases.ts";
import { continuesAfter, type FuzzLimits } from "./requests.ts";
import { header, parseStream, type StrictResponse } from "./strict-response.ts";

export interface Outcome {
  received: Buffer;
  /** The server closed the connection (false: the deadline passed first). */
  closed: boolean;
  /** Socket errors seen by the client (resets are fine when the server refused). */
  errors: string[];
}

export interface Verdict {
  problems: string[];
  /** Final responses received, by status. */
  statuses: number[];
}

function echoOf(response: StrictResponse): Record<string, unknown> | null {
  if (!(header(response, "content-type") ?? "").startsWith("application/json")) return null;
  try {
    return JSON.parse(response.body.toString("latin1")) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The request id a response says it answers (its X-Fuzz-Id, else the id in its echo). */
function answeredId(response: StrictResponse): string | undefined {
  const id = header(response, "x-fuzz-id");
  if (id !== undefined) return id;
  const echo = echoOf(response);
  return typeof echo?.id === "string" ? echo.id : undefined;
}

export function judge(fuzzCase: FuzzCase, outcome: Outcome, limits: FuzzLimits): Verdict {
  const problems: string[] = [];
  const clean = fuzzCase.kind !== "blind";
  const isHead = (n: number) => clean && fuzzCase.requests[n]?.plan.method === "HEAD" && fuzzCase.requests[n]?.disposition.kind === "clean";
  const parsed = parseStream(outcome.received, outcome.closed, isHead);
  problems.push(...parsed.problems);
  if (!outcome.closed) problems.push("the server neither closed the connection nor stopped within the deadline (a hang)");
  const responses = parsed.responses;

  // Whatever the case: nothing hidden is answered, and no request twice or out of order.
  const order = new Map(fuzzCase.requests.map((request, i) => [request.plan.id, i]));
  let last = -1;
  for (const response of responses) {
    const id = answeredId(response);
    if (id === undefined) continue;
    if (fuzzCase.smuggled.includes(id)) problems.push(`answered ${id}, a request hidden in a body or sent after a refused one (${response.status})`);
    const index = order.get(id);
    if (index === undefined) continue; // a mutated id
    if (index <= last) problems.push(`answered ${id} twice or out of order`);
    last = index;
  }
  if (!clean) return { problems, statuses: responses.map((r) => r.status) };

  // Clean requests, in order, until the connection ends or a refused request.
  let served = 0;
  let open = true;
  for (let i = 0; i < fuzzCase.requests.length && open; i++) {
    const { plan, disposition } = fuzzCase.requests[i]!;
    const response = responses[served];
    if (disposition.kind === "refuse") {
      if (response) {
        if (!disposition.statuses.includes(response.status)) problems.push(`request ${i} (${disposition.name}): status ${response.status}, expected ${disposition.statuses.join(" or ")}`);
        served++;
      } else if (disposition.inHead) {
        problems.push(`request ${i} (${disposition.name}): no ${disposition.statuses.join(" or ")} before the close`);
      }
      open = false;
      break;
    }
    if (!response) {
      problems.push(`request ${i} (${plan.method} ${plan.protocol}, ${plan.status}): no response`);
      open = false;
      break;
    }
    served++;
    const where = `request ${i} (${plan.method} ${plan.wire.line.split(" ")[1]} ${plan.protocol})`;
    if (response.status !== plan.status) {
      problems.push(`${where}: status ${response.status}, expected ${plan.status}`);
      continue;
    }
    if (plan.fromApp && (plan.status === 200 || plan.status === 204) && header(response, "x-fuzz-id") !== plan.id) {
      problems.push(`${where}: X-Fuzz-Id ${header(response, "x-fuzz-id")}, expected ${plan.id}`);
    }
    const body = plan.method !== "HEAD" && plan.status !== 204;
    const framing = !body ? "none" : plan.streamed && plan.status === 200 ? (plan.protocol === "HTTP/1.1" ? "chunked" : "close") : "length";
    if (response.framing !== framing) problems.push(`${where}: framing ${response.framing}, expected ${framing}`);
    if (plan.echo) {
      const echo = echoOf(response);
      for (const [key, value] of Object.entries(plan.echo)) {
        if (echo?.[key] !== value) problems.push(`${where}: the app saw ${key} ${JSON.stringify(echo?.[key])}, sent ${JSON.stringify(value)}`);
      }
    }
    open = continuesAfter(plan, served, limits);
    const connection = (header(response, "connection") ?? "").toLowerCase();
    const says = plan.protocol === "HTTP/1.1" ? !connection.includes("close") : connection.includes("keep-alive");
    if (says !== open) problems.push(`${where}: Connection '${connection}', the connection should ${open ? "stay open" : "close"}`);
  }
  if (responses.length > served) {
    problems.push(`${responses.length - served} responses more than requests it should answer (statuses ${responses.slice(served).map((r) => r.status).join(", ")})`);
  }
  return { problems, statuses: responses.map((r) => r.status) };
}
