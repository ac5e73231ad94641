// Basic authentication's files (src/http/site/htpasswd.ts): passwords checked against hashes the real
// htpasswd made in every format it writes, each verdict also asked of htpasswd -v (APR's
// apr_password_validate, Apache's own check); the AuthUserFile and AuthGroupFile readers on real
// files; and their reading of odd lines compared with Apache 2.4 answering for the same files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuthFileError, GroupFile, PasswordFile, verifyPassword } from "../src/http/site/htpasswd.ts";
import { startApache, type RunningApache } from "./helpers/apache.ts";
import { cleanupTemps, tempDir } from "./helpers/server.ts";

afterAll(cleanupTemps);

const dir = tempDir("wsgi-bin-htpasswd-");

function run(command: string[], stdin?: Uint8Array): { exitCode: number; stdout: Buffer; stderr: string } {
  const result = Bun.spawnSync(command, { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** The hash `htpasswd -nb<flag>` prints for the password. */
function htpasswdHash(flag: string, password: string): string {
  const result = run(["htpasswd", `-nb${flag}`, "user", password]);
  if (result.exitCode !== 0) throw new Error(`htpasswd -nb${flag}: ${result.stderr}`);
  return result.stdout.toString("latin1").split("\n")[0]!.slice("user:".length);
}

let oracleFiles = 0;

/** Apache's verdict: htpasswd -v on a file holding the hash, the password's bytes on its stdin. */
function apacheAccepts(password: string | Uint8Array, hash: string): boolean {
  const file = join(dir, `oracle-${oracleFiles++}`);
  writeFileSync(file, Buffer.from(`user:${hash}\n`, "latin1"));
  const result = run(["htpasswd", "-vi", file, "user"], Buffer.from(password));
  if (result.exitCode === 0) return true;
  if (result.exitCode === 3) return false; // "password verification failed"
  // apr_password_validate failed otherwise (a broken bcrypt hash: EINVAL); mod_authn_file denies.
  if (result.exitCode === 9 && result.stderr.startsWith("Could not verify password")) return false;
  throw new Error(`htpasswd -v: ${result.stderr}`);
}

/** verifyPassword's verdict, after checking that it is Apache's. */
function verdict(password: string | Uint8Array, hash: string): boolean {
  const ours = verifyPassword(password, hash);
  expect({ password, hash, verdict: ours }).toEqual({ password, hash, verdict: apacheAccepts(password, hash) });
  return ours;
}

// Every format `htpasswd --help` lists on this system (-p, plain text, is below).
const FORMATS: [flag: string, name: string, shape: RegExp][] = [
  ["m", "$apr1$ APR MD5 (-m, the default)", /^\$apr1\$[^$]{8}\$[./0-9A-Za-z]{22}$/],
  ["B", "bcrypt (-B)", /^\$2y\$05\$/],
  ["s", "{SHA} SHA-1 (-s)", /^\{SHA\}[A-Za-z0-9+/]{27}=$/],
  ["d", "DES crypt (-d)", /^[./0-9A-Za-z]{13}$/],
  ["2", "SHA-256 crypt (-2)", /^\$5\$/],
  ["5", "SHA-512 crypt (-5)", /^\$6\$/],
];

const UMLAUTS = "pässwörd";

for (const [flag, name, shape] of FORMATS) {
  describe(`verifyPassword: ${name}`, () => {
    test("the right password matches; wrong ones do not", () => {
      const hash = htpasswdHash(flag, "secret");
      expect(hash).toMatch(shape);
      expect(verdict("secret", hash)).toBe(true);
      expect(verdict(Buffer.from("secret"), hash)).toBe(true);
      expect(verdict("Secret", hash)).toBe(false);
      expect(verdict("secret ", hash)).toBe(false);
      expect(verdict("", hash)).toBe(false);
    });

    test("a password with non-ASCII bytes: its UTF-8, as text or bytes, matches; its latin1 does not", () => {
      const hash = htpasswdHash(flag, UMLAUTS);
      expect(verdict(UMLAUTS, hash)).toBe(true);
      expect(verdict(Buffer.from(UMLAUTS, "utf8"), hash)).toBe(true);
      expect(verdict(Buffer.from(UMLAUTS, "latin1"), hash)).toBe(false);
      expect(verdict("passwörd", hash)).toBe(false);
    });
  });
}

describe("verifyPassword: the formats' particulars", () => {
  test("bcrypt's $2a$ and $2b$ prefixes (the same algorithm as htpasswd's $2y$) match too", () => {
    for (const password of ["secret", UMLAUTS]) {
      const hash = htpasswdHash("B", password);
      for (const prefix of ["$2a$", "$2b$"]) {
        expect(verdict(password, prefix + hash.slice(4))).toBe(true);
        expect(verdict("wrong", prefix + hash.slice(4))).toBe(false);
      }
    }
  });

  test("bcrypt of a password over 72 bytes: its first 72 count (Bun.password would refuse it)", () => {
    const long = "correct horse battery staple, ".repeat(3).slice(0, 80);
    const hash = htpasswdHash("B", long);
    expect(verdict(long, hash)).toBe(true);
    expect(verdict(long.slice(0, 72), hash)).toBe(true);
    expect(verdict(long.slice(0, 72) + "another tail", hash)).toBe(true);
    expect(verdict(long.slice(0, 71), hash)).toBe(false);
  });

  test("DES crypt reads a password's first 8 characters: 8 and 9 alike", () => {
    const eight = htpasswdHash("d", "password");
    const nine = htpasswdHash("d", "password1");
    for (const hash of [eight, nine]) {
      expect(verdict("password", hash)).toBe(true);
      expect(verdict("password1", hash)).toBe(true);
      expect(verdict("password-anything", hash)).toBe(true);
      expect(verdict("passwor", hash)).toBe(false);
      expect(verdict("Password", hash)).toBe(false);
    }
  });

  test("crypt's $1$ MD5 (openssl passwd -1) goes to the system's crypt, not APR's $apr1$", () => {
    const result = run(["openssl", "passwd", "-1", "-salt", "saltsalt", "secret"]);
    expect(result.exitCode).toBe(0);
    const hash = result.stdout.toString().trim();
    expect(hash).toMatch(/^\$1\$saltsalt\$/);
    expect(verdict("secret", hash)).toBe(true);
    expect(verdict("secrets", hash)).toBe(false);
    expect(verdict("secret", "$apr1$" + hash.slice(3))).toBe(false);
  });

  test("plain text (htpasswd -p) never matches, as on Linux", () => {
    const hash = htpasswdHash("p", "secret");
    expect(hash).toBe("secret");
    expect(verdict("secret", hash)).toBe(false);
  });

  test("a password ends at a NUL byte, as a C string does", () => {
    const hash = htpasswdHash("m", "secret");
    expect(verdict(Buffer.from("secret\0tail"), hash)).toBe(true);
    expect(verdict(Buffer.from("secre\0t"), hash)).toBe(false);
  });

  test("broken and empty hashes match nothing", () => {
    for (const hash of ["*", "!", "$apr1$", "{SHA}", "$2y$05$short", "$6$", "x"]) {
      expect(verdict("", hash)).toBe(false);
      expect(verdict("secret", hash)).toBe(false);
    }
    // htpasswd -v refuses to try an empty hash; Apache's comparison below has one (a line without ':').
    expect(verifyPassword("", "")).toBe(false);
    expect(verifyPassword("secret", "")).toBe(false);
  });
});

let fileCount = 0;
function newFile(content: string | Uint8Array): string {
  const path = join(dir, `file-${fileCount++}`);
  writeFileSync(path, content);
  return path;
}

describe("PasswordFile", () => {
  test("a file htpasswd wrote: each user's hash, which verifies", () => {
    const path = join(dir, "htpasswd-made");
    expect(run(["htpasswd", "-cbm", path, "alice", "wonderland"]).exitCode).toBe(0);
    expect(run(["htpasswd", "-bB", path, "bob", UMLAUTS]).exitCode).toBe(0);
    const file = new PasswordFile(path);
    const alice = file.lookup("alice");
    const bob = file.lookup("bob");
    expect(alice).toMatch(/^\$apr1\$/);
    expect(bob).toMatch(/^\$2y\$/);
    expect(verifyPassword("wonderland", alice as string)).toBe(true);
    expect(verifyPassword(Buffer.from(UMLAUTS), bob as string)).toBe(true);
    expect(verifyPassword("wonderland", bob as string)).toBe(false);
    expect(file.lookup("carol")).toBeNull();
  });

  test("comments and blank lines are skipped, fields after the hash ignored, a user's first line counts", () => {
    const file = new PasswordFile(
      newFile(["# users", "", "   ", "alice:HASH-A:Alice Liddell:extra", "  # indented:comment", "bob:HASH-B", "alice:HASH-A2", "carol:HASH-C  \r", "dan::HASH-D", "erin", ""].join("\n")),
    );
    expect(file.lookup("alice")).toBe("HASH-A");
    expect(file.lookup("bob")).toBe("HASH-B");
    expect(file.lookup("carol")).toBe("HASH-C"); // CRLF and trailing blanks trimmed
    expect(file.lookup("dan")).toBe("HASH-D"); // ap_getword skips the run of ':'
    expect(file.lookup("erin")).toBe(""); // listed without a hash: found, matches no password
    expect(file.lookup("# users")).toBeNull();
    expect(file.lookup("  # indented")).toBeNull();
    expect(file.lookup("#")).toBeNull();
    expect(file.lookup("")).toBeNull();
  });

  test("user names are bytes: a string means its UTF-8, a Uint8Array is taken as it is", () => {
    const file = new PasswordFile(newFile(Buffer.concat([Buffer.from("jürgen:UTF8\n"), Buffer.from("jürgen:LATIN1\n", "latin1")])));
    expect(file.lookup("jürgen")).toBe("UTF8");
    expect(file.lookup(Buffer.from("jürgen"))).toBe("UTF8");
    expect(file.lookup(Buffer.from("jürgen", "latin1"))).toBe("LATIN1");
    expect(file.lookup("jurgen")).toBeNull();
  });

  test("a rewrite is seen at the next lookup: the same size at once, or a new mtime", () => {
    const path = newFile("alice:FIRST-HASH\n");
    const file = new PasswordFile(path);
    expect(file.lookup("alice")).toBe("FIRST-HASH");
    expect(file.lookup("alice")).toBe("FIRST-HASH");

    // Same length, same inode, likely within the same clock tick: htpasswd changing a password.
    writeFileSync(path, "alice:OTHER-HASH\n");
    expect(file.lookup("alice")).toBe("OTHER-HASH");

    writeFileSync(path, "alice:THIRD-HASH\nbob:B\n");
    const later = new Date(Date.now() + 60_000);
    utimesSync(path, later, later);
    expect(file.lookup("alice")).toBe("THIRD-HASH");
    expect(file.lookup("bob")).toBe("B");
  });

  test("an old file, parsed once and kept, is read again when rewritten even with its mtime put back", () => {
    const old = new Date(Date.now() - 3600_000);
    const path = newFile("alice:FIRST-HASH\n");
    utimesSync(path, old, old);
    const file = new PasswordFile(path);
    expect(file.lookup("alice")).toBe("FIRST-HASH");
    expect(file.lookup("alice")).toBe("FIRST-HASH");
    writeFileSync(path, "alice:OTHER-HASH\n");
    utimesSync(path, old, old); // size and mtime as before: the ctime tells
    expect(file.lookup("alice")).toBe("OTHER-HASH");
  });

  test("a missing file: the AH01620 error to log, each time, until it exists", () => {
    const path = join(dir, "not-yet");
    const file = new PasswordFile(path);
    const error = file.lookup("alice");
    expect(error).toBeInstanceOf(AuthFileError);
    expect((error as AuthFileError).message).toBe(`AH01620: Could not open password file: ${path}`);
    expect((error as AuthFileError).errno).toBe(2); // ENOENT: "(2)No such file or directory"
    expect(file.lookup("alice")).toBeInstanceOf(Error);
    writeFileSync(path, "alice:HASH\n");
    expect(file.lookup("alice")).toBe("HASH");
  });

  test("a directory is not a password file (ap_pcfg_openfile: not a regular file)", () => {
    const path = join(dir, "a-directory");
    mkdirSync(path);
    const error = new PasswordFile(path).lookup("alice");
    expect(error).toBeInstanceOf(AuthFileError);
    expect((error as AuthFileError).errno).toBe(9); // EBADF, as APR returns
  });
});

describe("GroupFile", () => {
  test("a user's groups: several lines of a group add up, a user in several groups has each", () => {
    const file = new GroupFile(
      newFile(["# groups", "admins: alice bob", "staff: carol   alice", "", "admins: dave", "staff :\terin 'eve smith'", "readers:", "admins: alice", ""].join("\n")),
    );
    expect(file.groupsOf("alice")).toEqual(["admins", "staff"]);
    expect(file.groupsOf("bob")).toEqual(["admins"]);
    expect(file.groupsOf("dave")).toEqual(["admins"]);
    expect(file.groupsOf("carol")).toEqual(["staff"]);
    expect(file.groupsOf("erin")).toEqual(["staff"]); // the name before ':' loses its trailing blanks
    expect(file.groupsOf("eve smith")).toEqual(["staff"]); // a quoted member, as a configuration word
    expect(file.groupsOf("eve")).toEqual([]);
    expect(file.groupsOf("nobody")).toEqual([]);
  });

  test("group names are UTF-8 text; a rewrite is seen at the next lookup", () => {
    const path = newFile("rédaction: anne\n");
    const file = new GroupFile(path);
    expect(file.groupsOf("anne")).toEqual(["rédaction"]);
    writeFileSync(path, "rédaction: anne\nédition: anne\n");
    expect(file.groupsOf("anne")).toEqual(["rédaction", "édition"]);
  });

  test("a missing file: the AH01665 error to log", () => {
    const path = join(dir, "no-groups");
    const error = new GroupFile(path).groupsOf("alice");
    expect(error).toBeInstanceOf(AuthFileError);
    expect((error as AuthFileError).message).toBe(`AH01665: Could not open group file: ${path}`);
  });
});

describe("the same odd files, as Apache 2.4 reads them", () => {
  // Each user's password is their name reversed. Apache answers 200 or 401 to Basic credentials for
  // a valid-user location and one per group; PasswordFile + verifyPassword + GroupFile must agree.
  const hash = (user: string) => htpasswdHash("m", [...user].reverse().join(""));
  const site = tempDir("wsgi-bin-htpasswd-apache-");
  const GROUPS = ["admins", "staff", "joined", "tabbed", "quoted"];
  const USERS = ["indented", "alice", "dan", "#hash", "carol", "continued", "cont", "evan", "trail", "eve smith", '"eve smith"', "sp ace ", "sp ace", "late", "bob", "frank", "gina", "dave", "a\\b", "it", "nohash"];
  let apache: RunningApache;

  beforeAll(async () => {
    chmodSync(site, 0o755); // Apache's children run as www-data
    const users = [
      "# users",
      `   indented:${hash("indented")}`,
      `alice:${hash("alice")}:extra:fields`,
      `alice:${hash("not alice")}`,
      `dan::${hash("dan")}`,
      `  #hash:${hash("#hash")}`,
      `carol:${hash("carol")}  \r`,
      "cont\\",
      `inued:${hash("continued")}`,
      `evan:${hash("evan")}\0junk`,
      `trail:${hash("trail")} # comment`,
      `"eve smith":${hash('"eve smith"')}`,
      `eve smith:${hash("eve smith")}`,
      `sp ace :${hash("sp ace ")}`,
      "nohash",
      ...["bob", "frank", "gina", "dave", "a\\b", "it"].map((user) => `${user}:${hash(user)}`),
      `x:${"y".repeat(9000)}`, // longer than mod_authn_file's 8192-byte line: Apache reads no further
      `late:${hash("late")}`,
    ];
    const groups = ["admins: alice bob", 'staff : alice "eve smith"', "admins:dave", "joined: x \\", "  frank", "tabbed:\tgina", "quoted: 'it''s' a\\\\b"];
    writeFileSync(join(site, "users"), users.join("\n") + "\n");
    writeFileSync(join(site, "groups"), groups.join("\n") + "\n");
    writeFileSync(join(site, "page.txt"), "ok\n");
    writeFileSync(
      join(site, "site.conf"),
      [
        `Alias /valid ${site}/page.txt`,
        ...GROUPS.map((group) => `Alias /group/${group} ${site}/page.txt`),
        `<Directory ${site}>`,
        "  AuthType Basic",
        "  AuthName files",
        `  AuthUserFile ${site}/users`,
        `  AuthGroupFile ${site}/groups`,
        "  Require valid-user",
        "</Directory>",
        ...GROUPS.map((group) => `<Location /group/${group}>\n  Require group ${group}\n</Location>`),
      ].join("\n"),
    );
    for (const name of ["users", "groups", "page.txt", "site.conf"]) chmodSync(join(site, name), 0o644);
    const modules = ["authz_core", "alias", "mime", "authn_core", "authn_file", "auth_basic", "authz_user", "authz_groupfile"];
    apache = await startApache(join(site, "site.conf"), modules, {});
  });

  afterAll(async () => {
    await apache?.stop();
  });

  const status = async (path: string, user: string) => {
    const credentials = Buffer.from(`${user}:${[...user].reverse().join("")}`).toString("base64");
    return (await fetch(`${apache.url}${path}`, { headers: { authorization: `Basic ${credentials}` } })).status;
  };

  test("who is let in, and to which groups' locations", async () => {
    const passwords = new PasswordFile(join(site, "users"));
    const groups = new GroupFile(join(site, "groups"));
    const ours: Record<string, unknown> = {};
    const apaches: Record<string, unknown> = {};
    for (const user of USERS) {
      const stored = passwords.lookup(user);
      const valid = typeof stored === "string" && verifyPassword([...user].reverse().join(""), stored);
      const memberOf = valid ? (groups.groupsOf(user) as string[]) : [];
      ours[user] = { valid, groups: GROUPS.filter((group) => memberOf.includes(group)) };
      const apacheGroups: string[] = [];
      const apacheValid = (await status("/valid", user)) === 200;
      if (apacheValid) for (const group of GROUPS) if ((await status(`/group/${group}`, user)) === 200) apacheGroups.push(group);
      apaches[user] = { valid: apacheValid, groups: apacheGroups };
    }
    expect(ours).toEqual(apaches);
    // And the file really is odd: some are refused, some groups granted.
    expect(Object.values(ours).filter((entry) => (entry as { valid: boolean }).valid).length).toBeGreaterThan(8);
    expect(ours["late"]).toEqual({ valid: false, groups: [] });
    expect(ours["frank"]).toEqual({ valid: true, groups: ["joined"] });
  }, 30_000);
});
