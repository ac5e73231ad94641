// mod_authz_core, mod_authz_host, mod_authz_user and mod_authz_groupfile: Require all granted|denied,
// Require ip, Require local, Require valid-user, Require user, Require group, `Require not`, and the
// containers <RequireAll>, <RequireAny> and <RequireNone>. A section's Require lines grant access if
// any one does (httpd's implicit <RequireAny>). Evaluated as httpd does, twice: before anyone is
// authenticated (user-based lines say a user is needed), then with the user (basic-auth.ts).
import type { Access, AuthSettings, RequireLine, RequireRule } from "../../config/site.ts";
import { inRanges, ipRanges, unmapped } from "../ip-ranges.ts";

/** What the rules say before anyone is authenticated. */
export const enum Verdict {
  Granted,
  Denied,
  /** The rules cannot decide without a user: authentication decides (httpd's AUTHZ_DENIED_NO_USER). */
  NeedsUser,
}

/**
 * What a rule says (mod_authz_core's authz_status): a negated rule that does not grant is neutral (it
 * cannot let anyone in by itself); one that needs a user says so; Failed: a lookup failed (500).
 */
const enum Authz {
  Denied,
  Granted,
  Neutral,
  DeniedNoUser,
  Failed,
}

/** What the user-based lines need to know of an authenticated user, asked only when a line needs it. */
export interface UserLookups {
  /** The user's groups in the AuthGroupFile; null when it could not be read (the caller logged why). */
  fileGroups(): string[] | null;
  /** The user's groups by the WSGIAuthGroupScript; "failed" when it could not say (logged). */
  scriptGroups(): Promise<string[] | "failed">;
  /** A `Require wsgi-group` line did not grant: mod_wsgi logs why (`groups`: what the script gave). */
  notInScriptGroups(groups: string[]): void;
}

/** A section's Require lines (and the authentication settings where they are), compiled. */
export interface Gate {
  /** By the client's address (and the address it reached us on), before anyone is authenticated. */
  check(peer: string, local: string): Verdict;
  /** Once `user` is authenticated: does the section let them in? "failed": a lookup failed (500). */
  checkUser(user: string, peer: string, local: string, lookups: UserLookups): Promise<"granted" | "denied" | "failed">;
  readonly auth: AuthSettings | undefined;
}

/** One compiled rule: what it says before authentication, and with a user. */
interface Rule {
  before(peer: string, local: string): Authz;
  after(user: string, peer: string, local: string, lookups: UserLookups): Authz | Promise<Authz>;
}

/** Require local: the loopback addresses (and the server's own, compared per connection). */
const LOOPBACK = ["127.0.0.0/8", "::1"];

/** Compiled once per Require list and authentication settings (per-request settings pass the sections' own objects through). */
const compiled = new WeakMap<Access, WeakMap<AuthSettings, Gate | null>>();
const NO_AUTH: AuthSettings = {};

/** The gate for a section's Require lines; null when everyone is let in (no Require, or all granted). */
export function accessGate(access: Access | undefined, auth?: AuthSettings): Gate | null {
  if (!access) return null;
  let byAuth = compiled.get(access);
  if (!byAuth) compiled.set(access, (byAuth = new WeakMap()));
  const key = auth ?? NO_AUTH;
  let gate = byAuth.get(key);
  if (gate === undefined) byAuth.set(key, (gate = compileGate(access, auth)));
  return gate;
}

function compileGate(access: Access, auth: AuthSettings | undefined): Gate | null {
  if (access.rules.some((rule) => rule.kind === "all" && rule.granted && !rule.negated)) return null;
  const section = container("any", access.rules);
  return {
    auth,
    check(peer, local) {
      const result = section.before(peer, local);
      return result === Authz.Granted ? Verdict.Granted : result === Authz.DeniedNoUser ? Verdict.NeedsUser : Verdict.Denied;
    },
    async checkUser(user, peer, local, lookups) {
      const result = await section.after(user, peer, local, lookups);
      return result === Authz.Granted ? "granted" : result === Authz.Failed ? "failed" : "denied";
    },
  };
}

function compileRule(rule: RequireRule): Rule {
  if (rule.kind === "container") return container(rule.op, rule.rules);
  const line = compileLine(rule);
  if (!rule.negated || rule.kind === "unsupported") return line; // one that cannot be evaluated denies, negated or not
  return {
    before: (peer, local) => negate(line.before(peer, local)),
    after: (user, peer, local, lookups) => {
      const result = line.after(user, peer, local, lookups);
      return result instanceof Promise ? result.then(negate) : negate(result);
    },
  };
}

/** httpd's negation: what granted denies; what denied is neutral (not being refused lets no one in). */
function negate(result: Authz): Authz {
  if (result === Authz.Granted) return Authz.Denied;
  if (result === Authz.Denied || result === Authz.DeniedNoUser) return Authz.Neutral;
  return result;
}

/** <RequireAll> (and), <RequireAny> (or), <RequireNone> (or, negated): httpd's apply_authz_sections. */
function container(op: "all" | "any" | "none", rules: RequireRule[]): Rule {
  const children = rules.map(compileRule);
  const and = op === "all";
  const end = (result: Authz) => (op === "none" ? negate(result) : result);
  return {
    before(peer, local) {
      let result = Authz.Neutral;
      for (const child of children) {
        result = combine(and, result, child.before(peer, local));
        if (settled(and, result)) break;
      }
      return end(result);
    },
    async after(user, peer, local, lookups) {
      let result = Authz.Neutral;
      for (const child of children) {
        result = combine(and, result, await child.after(user, peer, local, lookups));
        if (settled(and, result)) break;
      }
      return end(result);
    },
  };
}

/** The result so far with one more child's: a denial needing a user outweighs a neutral one, a plain denial both. */
function combine(and: boolean, result: Authz, child: Authz): Authz {
  if (result === Authz.Failed || child === Authz.Neutral) return result;
  if (child === Authz.Failed) return child;
  if (and) {
    if (child === Authz.Denied) return child;
    return (child === Authz.DeniedNoUser && result !== Authz.Denied) || result === Authz.Neutral ? child : result;
  }
  if (child === Authz.Granted) return child;
  return (child === Authz.DeniedNoUser && result === Authz.Denied) || result === Authz.Neutral ? child : result;
}

/** No later child can change it: a failure, a denial in <RequireAll>, a grant in <RequireAny>. */
function settled(and: boolean, result: Authz): boolean {
  return result === Authz.Failed || result === (and ? Authz.Denied : Authz.Granted);
}

const granted = (yes: boolean) => (yes ? Authz.Granted : Authz.Denied);

/** One Require line, not negated. */
function compileLine(rule: RequireLine): Rule {
  switch (rule.kind) {
    case "all": {
      const result = granted(rule.granted);
      return { before: () => result, after: () => result };
    }
    case "ip": {
      const list = ipRanges(rule.ranges);
      const check = (peer: string) => granted(inRanges(list, peer));
      return { before: check, after: (_user, peer) => check(peer) };
    }
    case "local": {
      const list = ipRanges(LOOPBACK);
      const check = (peer: string, local: string) => granted(inRanges(list, peer) || unmapped(peer) === unmapped(local));
      return { before: check, after: (_user, peer, local) => check(peer, local) };
    }
    case "valid-user":
      return { before: () => Authz.DeniedNoUser, after: () => Authz.Granted };
    case "user": {
      const names = new Set(rule.names);
      return { before: () => Authz.DeniedNoUser, after: (user) => granted(names.has(user)) };
    }
    case "group":
      return {
        before: () => Authz.DeniedNoUser,
        after(_user, _peer, _local, lookups) {
          const groups = lookups.fileGroups();
          return granted(groups !== null && rule.names.some((group) => groups.includes(group)));
        },
      };
    case "wsgi-group":
      return {
        before: () => Authz.DeniedNoUser,
        async after(_user, _peer, _local, lookups) {
          const groups = await lookups.scriptGroups();
          if (groups === "failed") return Authz.Failed;
          if (rule.names.some((group) => groups.includes(group))) return Authz.Granted;
          lookups.notInScriptGroups(groups);
          return Authz.Denied;
        },
      };
    case "unsupported":
      return { before: () => Authz.Denied, after: () => Authz.Denied }; // host, env, expr...: not evaluated here
  }
}
