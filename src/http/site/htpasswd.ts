// The password-file half of mod_authn_file and mod_authz_groupfile: a password checked against an
// htpasswd hash as APR's apr_password_validate does on Linux, and readers for AuthUserFile and
// AuthGroupFile. Apache reads these files again for every request, so an edit counts at once; here
// each lookup costs a stat, and the file is parsed again only when the stat changed.
//
// Apache treats passwords, users and hashes as C strings of bytes. So do these: a file is read as
// latin1 (one char per byte), a user or password given as a string means its UTF-8 bytes, and both
// stop at a NUL byte.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { crypt } from "../../ffi/libcrypt.ts";

const APR1 = "$apr1$";
const SHA1 = "{SHA}";

/**
 * Does the password match the hash? The formats htpasswd writes: $apr1$ (-m, APR's MD5), {SHA} (-s)
 * and, through the system's crypt(3) as Apache on Linux, bcrypt $2y$/$2a$/$2b$ (-B), DES (-d, the
 * password's first 8 bytes), $5$ (-2), $6$ (-5) and $1$. A plain-text entry (-p) never matches, as on
 * Linux. The hash is a string of one char per byte, as PasswordFile.lookup gives it (any ASCII hash
 * reads the same). Throws only if the system has no libcrypt.so.1.
 */
export function verifyPassword(password: string | Uint8Array, hash: string): boolean {
  const phrase = cString(typeof password === "string" ? Buffer.from(password, "utf8") : password);
  const sample = hashOf(phrase, hash);
  if (sample === null) return false;
  const made = Buffer.from(sample, "latin1");
  const stored = Buffer.from(hash, "latin1");
  return made.length === stored.length && timingSafeEqual(made, stored);
}

/** The password hashed the way the stored hash was, for comparison with it; null: cannot match. */
function hashOf(phrase: Uint8Array, hash: string): string | null {
  if (hash.startsWith(APR1)) return aprMd5Crypt(phrase, hash);
  if (hash.startsWith(SHA1)) return SHA1 + createHash("sha1").update(phrase).digest("base64");
  // Not Bun.password for bcrypt: it runs passwords longer than 72 bytes through SHA-512 first, where
  // bcrypt (APR's and libxcrypt's alike) uses their first 72 bytes, so htpasswd -B's hash of a long
  // password would never match.
  return crypt(phrase, Buffer.from(hash, "latin1"));
}

/** The bytes before the first NUL: what C code (Apache, mod_wsgi) sees of them. */
export function cString(bytes: Uint8Array): Uint8Array {
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** APR's apr_md5_encode: FreeBSD's MD5-crypt with the magic "$apr1$" (a salt of up to 8 bytes). */
function aprMd5Crypt(password: Uint8Array, hash: string): string {
  const rest = hash.slice(APR1.length);
  let saltLength = 0;
  while (saltLength < 8 && saltLength < rest.length && rest[saltLength] !== "$") saltLength++;
  const salt = Buffer.from(rest.slice(0, saltLength), "latin1");

  const context = createHash("md5").update(password).update(APR1).update(salt);
  const mixed = createHash("md5").update(password).update(salt).update(password).digest();
  for (let left = password.length; left > 0; left -= 16) context.update(mixed.subarray(0, Math.min(left, 16)));
  // APR zeroes its digest buffer first, so the "odd" bit adds a NUL byte.
  for (let bits = password.length; bits !== 0; bits >>>= 1) context.update(bits & 1 ? NUL_BYTE : password.subarray(0, 1));
  let digest = context.digest();

  // 1000 rounds, meant to slow down guessing.
  for (let round = 0; round < 1000; round++) {
    const step = createHash("md5").update(round & 1 ? password : digest);
    if (round % 3) step.update(salt);
    if (round % 7) step.update(password);
    digest = step.update(round & 1 ? digest : password).digest();
  }

  let text = APR1 + salt.toString("latin1") + "$";
  const to64 = (value: number, count: number) => {
    for (; count > 0; count--, value >>>= 6) text += ITOA64[value & 0x3f];
  };
  const d = digest;
  to64((d[0]! << 16) | (d[6]! << 8) | d[12]!, 4);
  to64((d[1]! << 16) | (d[7]! << 8) | d[13]!, 4);
  to64((d[2]! << 16) | (d[8]! << 8) | d[14]!, 4);
  to64((d[3]! << 16) | (d[9]! << 8) | d[15]!, 4);
  to64((d[4]! << 16) | (d[10]! << 8) | d[5]!, 4);
  to64(d[11]!, 2);
  return text;
}

const NUL_BYTE = new Uint8Array(1);

/** An AuthUserFile or AuthGroupFile that could not be read: Apache logs the message and answers 500. */
export class AuthFileError extends Error {
  constructor(
    message: string,
    /** The error's errno, which Apache's log line shows first, as in "(2)No such file or directory". */
    readonly errno: number,
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = "AuthFileError";
  }
}

const EBADF = 9;

/** A file parsed again when its stat changes (inode, size, mtime, ctime). */
class ReloadingFile<Parsed> {
  #stamp: string | null = null;
  #parsed: Parsed | null = null;

  constructor(
    readonly path: string,
    private readonly parse: (text: string) => Parsed,
    private readonly failure: string,
  ) {}

  current(): Parsed | AuthFileError {
    try {
      const stats = statSync(this.path, { bigint: true });
      // As ap_pcfg_openfile: only a regular file (or /dev/null) is read.
      if (!stats.isFile() && this.path !== "/dev/null") {
        return this.fail(EBADF, new Error(`Access to file ${this.path} denied by server: not a regular file`));
      }
      const stamp = `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
      if (stamp === this.#stamp && this.#parsed !== null) return this.#parsed;
      this.#parsed = this.parse(readFileSync(this.path).toString("latin1"));
      // A file changed within the file system's timestamp granularity of this read could change
      // again, keeping its size, without its times moving: trust the stamp only once it is older.
      const age = BigInt(Date.now()) * 1_000_000n - stats.mtimeNs;
      this.#stamp = age > RACY_NS ? stamp : null;
      return this.#parsed;
    } catch (error) {
      return this.fail(Math.abs((error as NodeJS.ErrnoException).errno ?? 0), error);
    }
  }

  private fail(errno: number, cause: unknown): AuthFileError {
    this.#stamp = this.#parsed = null;
    return new AuthFileError(`${this.failure}: ${this.path}`, errno, cause);
  }
}

const RACY_NS = 2_000_000_000n;

/** A user name given as a string means its UTF-8 bytes; as the files' text, one char per byte. */
function userKey(user: string | Uint8Array): string {
  const bytes = typeof user === "string" ? Buffer.from(user, "utf8") : user;
  return Buffer.from(cString(bytes)).toString("latin1");
}

/** mod_authn_file's MAX_STRING_LEN: its line buffer; a longer line ends its reading of the file. */
const PASSWORD_LINE_BUFFER = 8192;
/** mod_authz_groupfile's VARBUF_MAX_LEN. */
const GROUP_LINE_BUFFER = 16 * 1024 * 1024;

/**
 * An AuthUserFile: `user:hash` lines (more ':'-separated fields after the hash are ignored), '#'
 * comments and blank lines skipped; the first line naming a user counts.
 */
export class PasswordFile {
  readonly #file: ReloadingFile<Map<string, string>>;

  constructor(readonly path: string) {
    this.#file = new ReloadingFile(path, parsePasswords, "AH01620: Could not open password file");
  }

  /** The user's hash (for verifyPassword), null if the file does not list the user, or the Error to log. */
  lookup(user: string | Uint8Array): string | null | AuthFileError {
    const users = this.#file.current();
    if (users instanceof AuthFileError) return users;
    return users.get(userKey(user)) ?? null;
  }
}

function parsePasswords(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of configLines(text, PASSWORD_LINE_BUFFER)) {
    if (line === "" || line.startsWith("#")) continue;
    // mod_authn_file: user = ap_getword(line, ':'), hash = the next ap_getword(line, ':'); ap_getword
    // skips the whole run of ':' after a word.
    const [user, afterUser] = getWord(line, ":");
    if (!users.has(user)) users.set(user, getWord(afterUser, ":")[0]);
  }
  return users;
}

/**
 * An AuthGroupFile: `group: member member ...` lines, members separated by white space (or quoted, as
 * words in Apache's configuration are); a group on several lines has the members of all.
 */
export class GroupFile {
  readonly #file: ReloadingFile<Map<string, string[]>>;

  constructor(readonly path: string) {
    this.#file = new ReloadingFile(path, parseGroups, "AH01665: Could not open group file");
  }

  /** The groups listing the user (names as UTF-8 text, for Require group), or the Error to log. */
  groupsOf(user: string | Uint8Array): string[] | AuthFileError {
    const groups = this.#file.current();
    if (groups instanceof AuthFileError) return groups;
    return [...(groups.get(userKey(user)) ?? [])];
  }
}

/** Each member's groups, in the order the file first names them together. */
function parseGroups(text: string): Map<string, string[]> {
  const memberships = new Map<string, string[]>();
  for (const line of configLines(text, GROUP_LINE_BUFFER)) {
    if (line === "" || line.startsWith("#")) continue;
    const [name, members] = getWord(line, ":");
    const group = Buffer.from(trimEnd(name), "latin1").toString("utf8");
    let rest = members;
    while (rest !== "") {
      let member: string;
      [member, rest] = getWordConf(rest);
      const groups = memberships.get(member);
      if (!groups) memberships.set(member, [group]);
      else if (!groups.includes(group)) groups.push(group);
    }
  }
  return memberships;
}

/** apr_isspace: C's isspace in the C locale. */
const SPACE = " \t\n\v\f\r";
const isSpace = (char: string | undefined) => char !== undefined && char !== "" && SPACE.includes(char);

function trimEnd(text: string): string {
  let end = text.length;
  while (end > 0 && isSpace(text[end - 1])) end--;
  return text.slice(0, end);
}

function trim(text: string): string {
  let start = 0;
  while (isSpace(text[start])) start++;
  return trimEnd(text.slice(start));
}

/**
 * The lines Apache's ap_cfg_getline gives for a file: a line ending in a backslash (before its LF or
 * CRLF) goes on with the next one, the backslash and line break dropped; white space is trimmed at
 * both ends; a NUL byte ends what is seen of a line. A line that does not fit the reader's buffer
 * ends the reading (Apache's loop stops at that APR_ENOSPC).
 */
function* configLines(text: string, bufferSize: number): Generator<string> {
  let position = 0;
  while (position < text.length) {
    let kept = ""; // what a continued line has so far (the buffer up to cbuf)
    for (;;) {
      // apr_file_gets stores at most its room less one byte, and stops after a LF.
      const room = bufferSize - kept.length - 1;
      if (room <= 0) return;
      if (position >= text.length) {
        if (kept !== "") yield trim(kept);
        return;
      }
      const newline = text.indexOf("\n", position);
      const end = newline !== -1 && newline < position + room ? newline + 1 : Math.min(position + room, text.length);
      const read = text.slice(position, end);
      position = end;
      const nul = read.indexOf("\0");
      const line = kept + (nul === -1 ? read : read.slice(0, nul));
      if (line.endsWith("\n")) {
        let at = line.length - 1;
        if (at > 0 && line[at - 1] === "\r") at--;
        if (at > 0 && line[at - 1] === "\\") {
          kept = line.slice(0, at - 1);
          continue;
        }
      } else if (line.length >= bufferSize - 1) {
        return;
      }
      yield trim(line);
      break;
    }
  }
}

/** ap_getword: the text before the first stop char (or all of it), and what follows that run of stops. */
function getWord(text: string, stop: string): [string, string] {
  const at = text.indexOf(stop);
  if (at === -1) return [text, ""];
  let next = at;
  while (text[next] === stop) next++;
  return [text.slice(0, at), text.slice(next)];
}

/**
 * ap_getword_conf: the next word, white space around it skipped; a word starting with a quote runs to
 * the matching quote, a backslash escaping it or a backslash; elsewhere "\\" stands for one backslash.
 */
function getWordConf(text: string): [string, string] {
  let start = 0;
  while (isSpace(text[start])) start++;
  if (start === text.length) return ["", ""];
  const quote = text[start] === '"' || text[start] === "'" ? text[start]! : "";
  let word = "";
  let at = quote ? start + 1 : start;
  while (at < text.length) {
    const char = text[at]!;
    if (quote ? char === quote : isSpace(char)) break;
    const next = text[at + 1];
    if (char === "\\" && (next === "\\" || (quote !== "" && next === quote))) {
      word += next;
      at += 2;
    } else {
      word += char;
      at++;
    }
  }
  if (quote && text[at] === quote) at++;
  while (isSpace(text[at])) at++;
  return [word, text.slice(at)];
}
