// mod_setenvif at request time: each SetEnvIf in order reads an attribute of the request (or a
// variable an earlier one set), and where its pattern matches, sets or unsets variables. They go to
// environ before SetEnv's, which win: mod_env runs later in Apache's request.
import type { EnvCondition } from "../../config/site.ts";
import { substitute } from "./url-map.ts";

export interface EnvRequest {
  method: string;
  protocol: string;
  /** The path as sent: Request_URI for the server's and virtual host's conditions (Apache's r->uri then). */
  rawPath: string;
  /** The decoded path: Request_URI for a section's conditions, read after Apache decodes r->uri. */
  path: string;
  remoteAddr: string;
  serverAddr: string;
  /** name, value... as received. */
  headers: string[];
}

/** The variables for one request: name, value... (SetEnv's `fixed` last). */
export type EnvConditions = (request: EnvRequest, fixed: string[]) => string[];

/**
 * The variables set so far, by lower-cased name (Apache's tables ignore case): the name as first
 * written, and the value.
 */
type Env = Map<string, [name: string, value: string]>;

type Read = (request: EnvRequest, env: Env) => string;

const SPECIAL: Record<string, (request: EnvRequest, inSection: boolean) => string> = {
  remote_host: (request) => request.remoteAddr, // HostnameLookups Off: the address
  remote_addr: (request) => request.remoteAddr,
  server_addr: (request) => request.serverAddr,
  request_method: (request) => request.method,
  request_protocol: (request) => request.protocol,
  request_uri: (request, inSection) => (inSection ? request.path : request.rawPath),
};

/** A pattern without regex syntax is matched as a plain string, and its values are not substituted (as httpd). */
const REGEX_SYNTAX = /[.\\[\]^$*+?{}()|]/;

/** A request header's value, repeats joined as Apache joins them; null when it is absent. */
function headerValue(headers: string[], lowerName: string): string | null {
  let value: string | null = null;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== lowerName) continue;
    value = value === null ? headers[i + 1]! : `${value}, ${headers[i + 1]}`;
  }
  return value;
}

function reader(condition: EnvCondition): Read {
  const special = SPECIAL[condition.attribute.toLowerCase()];
  const inSection = condition.inSection === true;
  if (special) return (request) => special(request, inSection);
  if (!/^[-A-Za-z0-9_]*$/.test(condition.attribute)) {
    // A regular expression over header names: the last header it names.
    const names = new RegExp(condition.attribute, condition.noCase ? "i" : "");
    return (request) => {
      let value = "";
      for (let i = 0; i + 1 < request.headers.length; i += 2) if (names.test(request.headers[i]!)) value = request.headers[i + 1]!;
      return value;
    };
  }
  const lowerName = condition.attribute.toLowerCase();
  return (request, env) => headerValue(request.headers, lowerName) ?? env.get(lowerName)?.[1] ?? "";
}

/** Made once per list of conditions (a host's, or a merge of sections': settingsFor keeps those). */
const made = new WeakMap<EnvCondition[], EnvConditions>();

export function envConditions(conditions: EnvCondition[] | undefined): EnvConditions | null {
  if (!conditions?.length) return null;
  let evaluate = made.get(conditions);
  if (!evaluate) made.set(conditions, (evaluate = compile(conditions)));
  return evaluate;
}

function compile(conditions: EnvCondition[]): EnvConditions {
  const compiled = conditions.map((condition) => ({
    read: reader(condition),
    pattern: new RegExp(condition.pattern, condition.noCase ? "i" : ""),
    substituted: REGEX_SYNTAX.test(condition.pattern),
    assignments: condition.assignments.map(({ name, value }) => ({ name, key: name.toLowerCase(), value })),
  }));
  return (request, fixed) => {
    const env: Env = new Map();
    for (const { read, pattern, substituted, assignments } of compiled) {
      const match = pattern.exec(read(request, env));
      if (!match) continue;
      for (const { name, key, value } of assignments) {
        if (value === null) env.delete(key);
        else env.set(key, [env.get(key)?.[0] ?? name, substituted && /[$\\]/.test(value) ? substitute(value, match) : value]);
      }
    }
    if (env.size === 0) return fixed;
    const out: string[] = [];
    for (const [name, value] of env.values()) out.push(name, value);
    return fixed.length ? out.concat(fixed) : out;
  };
}
