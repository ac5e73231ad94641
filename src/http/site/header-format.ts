// mod_headers' format specifiers in a Header or RequestHeader value: %t (t= and the time the request
// was received, in microseconds since the epoch), %D (D= and the microseconds since), %{VAR}e (an
// environment variable of the request, "(null)" when unset) and %% (a percent sign). A value is
// compiled once, with the rules it is in (header-rules.ts); one without "%" stays a plain string.

/** What a value's specifiers read for one request. */
export interface FormatContext {
  /** When the request was received: microseconds since the epoch. */
  started: number;
  /** The request's environment variables (SetEnv, SetEnvIf) as name, value...; absent: not known here. */
  env?: string[];
}

type Part = string | ((context: FormatContext) => string);
export type Format = string | ((context: FormatContext) => string);

/** Now, in microseconds since the epoch. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** A value with no context (a page made outside a request) goes out as written. */
export function formatted(format: Format, written: string, context: FormatContext | undefined): string {
  return typeof format === "string" ? format : context ? format(context) : written;
}

export function headerFormat(value: string): Format {
  if (!value.includes("%")) return value;
  const parts: Part[] = [];
  let literal = "";
  const part = (piece: (context: FormatContext) => string) => {
    if (literal) parts.push(literal);
    literal = "";
    parts.push(piece);
  };
  for (let i = 0; i < value.length; i++) {
    const next = value[i + 1];
    if (value[i] !== "%" || next === undefined) literal += value[i];
    else if (next === "%") literal += "%", i++;
    else if (next === "t") part((context) => `t=${context.started}`), i++;
    else if (next === "D") part((context) => `D=${Math.max(nowMicros() - context.started, 0)}`), i++;
    else if (next === "{" && value.indexOf("}", i) > 0 && value[value.indexOf("}", i) + 1] === "e") {
      const end = value.indexOf("}", i);
      const name = value.slice(i + 2, end);
      // Known for RequestHeader only: a response's rule sends it as written (a warning said so).
      const written = value.slice(i, end + 2);
      part((context) => (context.env ? variable(context.env, name) : written));
      i = end + 1;
    } else literal += value[i]; // what wsgi-bin does not expand goes out as written (a warning said so)
  }
  if (parts.length === 0) return literal;
  if (literal) parts.push(literal);
  return (context) => parts.map((piece) => (typeof piece === "string" ? piece : piece(context))).join("");
}

function variable(env: string[], name: string): string {
  for (let i = env.length - 2; i >= 0; i -= 2) if (env[i] === name) return env[i + 1]!;
  return "(null)";
}
