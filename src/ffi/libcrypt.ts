// The system's crypt(3), from libcrypt.so.1 (libxcrypt, or glibc's own libcrypt before 2.38): Apache on
// Linux hands it every password hash APR does not compute itself (DES, $1$, $5$, $6$, $2b$), and its
// bcrypt ($2a$, $2y$) is the same crypt_blowfish code as APR's. Bound on first use.
import koffi from "./koffi.ts";

// sizeof(struct crypt_data): 32768 bytes in libxcrypt, 131232 in glibc's libcrypt; room for either.
const CRYPT_DATA_SIZE = 132 * 1024;

type CryptR = (phrase: Uint8Array, setting: Uint8Array, data: Uint8Array) => string | null;

interface Bound {
  cryptR: CryptR;
  /** crypt_r's scratch space, zeroed before first use as crypt_r asks; one per module instance, so
   * per JS thread (each Bun worker loads its own). */
  data: Buffer;
}

let bound: Bound | null = null;

function bind(): Bound {
  const lib = koffi.load("libcrypt.so.1");
  const cryptR = lib.func("const char *crypt_r(const char *phrase, const char *setting, void *data)") as CryptR;
  return { cryptR, data: Buffer.alloc(CRYPT_DATA_SIZE) };
}

const NUL = new Uint8Array(1);

/**
 * crypt_r(phrase, setting): the hash the setting's method makes of the phrase (both given as bytes,
 * without their terminating NUL), or null when crypt refuses the setting (a NULL result, or libxcrypt's
 * failure token, which starts with '*'). Throws if the system has no libcrypt.so.1.
 */
export function crypt(phrase: Uint8Array, setting: Uint8Array): string | null {
  bound ??= bind();
  const result = bound.cryptR(Buffer.concat([phrase, NUL]), Buffer.concat([setting, NUL]), bound.data);
  return result === null || result.startsWith("*") ? null : result;
}
