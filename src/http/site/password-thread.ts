// The password checks' thread: an AuthUserFile hash costs 0.4 ms (apr1) to 1.7 ms (bcrypt) to compute,
// so a client guessing passwords would otherwise take that from the thread serving every connection.
// Checks run here one after another; the HTTP thread only waits for the answer (password-checks.ts).
import { verifyPassword } from "./htpasswd.ts";
import type { PasswordAnswer, PasswordCheck } from "./password-checks.ts";

declare const self: Worker;

self.onmessage = ({ data }: MessageEvent<PasswordCheck>) => {
  let answer: PasswordAnswer;
  try {
    answer = { id: data.id, matches: verifyPassword(data.password, data.hash) };
  } catch (error) {
    answer = { id: data.id, error: (error as Error).message }; // no libcrypt.so.1
  }
  self.postMessage(answer);
};
