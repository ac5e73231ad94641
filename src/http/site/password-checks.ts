// A password against its AuthUserFile hash, checked on a thread of its own (password-thread.ts),
// started with the first check and not keeping the process alive.
import { passwordThreadUrl } from "../../pool/worker-url.ts";

export interface PasswordCheck {
  id: number;
  password: Uint8Array;
  hash: string;
}

export type PasswordAnswer = { id: number; matches: boolean } | { id: number; error: string };

interface Waiting {
  resolve(matches: boolean): void;
  reject(error: Error): void;
}

let thread: Worker | null = null;
let lastId = 0;
const waiting = new Map<number, Waiting>();

function start(): Worker {
  const started = new Worker(passwordThreadUrl());
  started.onmessage = ({ data }: MessageEvent<PasswordAnswer>) => {
    const check = waiting.get(data.id);
    waiting.delete(data.id);
    if (!check) return;
    if ("error" in data) check.reject(new Error(data.error));
    else check.resolve(data.matches);
  };
  started.onerror = (event) => {
    // The thread is gone: every check waiting fails (a 500), the next starts another thread.
    thread = null;
    const error = new Error(`the password checks' thread failed: ${event.message}`);
    for (const check of waiting.values()) check.reject(error);
    waiting.clear();
  };
  (started as Worker & { unref(): void }).unref(); // Bun's: idle, it keeps no process alive
  return started;
}

/** Does the password match the hash (htpasswd.ts's verifyPassword, on the password thread)? */
export function checkPassword(password: Uint8Array, hash: string): Promise<boolean> {
  thread ??= start();
  const id = ++lastId;
  // A copy of its own: posting a view would copy the whole buffer it is a view of.
  const check: PasswordCheck = { id, password: Uint8Array.from(password), hash };
  thread.postMessage(check);
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}
