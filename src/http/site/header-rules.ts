// mod_headers on responses: Header set|unset|add|append|merge|setifempty, in the order written. Rules
// without `always` apply to the responses of apps and files; the server's own error pages and
// redirects get the `always` ones only (Apache clears its normal header table for those).
import type { HeaderRule } from "../../config/site.ts";
import type { HeadEditor } from "../wire/response-writer.ts";

/** fields: [status, name, value, ...]. The index of the first field named `lower`, or -1. */
function find(fields: string[], lower: string, from = 1): number {
  for (let i = from; i + 1 < fields.length; i += 2) if (fields[i]!.toLowerCase() === lower) return i;
  return -1;
}

function remove(fields: string[], lower: string): void {
  for (let i = fields.length - 2; i >= 1; i -= 2) if (fields[i]!.toLowerCase() === lower) fields.splice(i, 2);
}

function apply(fields: string[], rule: HeaderRule): void {
  const lower = rule.name.toLowerCase();
  const value = rule.value ?? "";
  const at = find(fields, lower);
  switch (rule.action) {
    case "set":
      remove(fields, lower);
      fields.push(rule.name, value);
      return;
    case "unset":
      remove(fields, lower);
      return;
    case "add":
      fields.push(rule.name, value);
      return;
    case "append":
      if (at < 0) fields.push(rule.name, value);
      else fields[at + 1] = `${fields[at + 1]}, ${value}`;
      return;
    case "merge": {
      if (at < 0) return void fields.push(rule.name, value);
      const present = fields[at + 1]!.split(",").some((token) => token.trim() === value);
      if (!present) fields[at + 1] = `${fields[at + 1]}, ${value}`;
      return;
    }
    case "setifempty":
      if (at < 0 || fields[at + 1] === "") {
        remove(fields, lower);
        fields.push(rule.name, value);
      }
  }
}

/** The editor for a list of rules, or null when there are none. */
/** Made once per list of rules (a host's, or a merge of sections': settingsFor keeps those). */
const editors = new WeakMap<HeaderRule[], HeadEditor | null>();

export function headEditor(rules: HeaderRule[]): HeadEditor | null {
  let editor = editors.get(rules);
  if (editor === undefined) editors.set(rules, (editor = compileRules(rules)));
  return editor;
}

function compileRules(rules: HeaderRule[]): HeadEditor | null {
  if (rules.length === 0) return null;
  const always = rules.filter((rule) => rule.always);
  return (fields, error) => {
    for (const rule of error ? always : rules) apply(fields, rule);
  };
}
