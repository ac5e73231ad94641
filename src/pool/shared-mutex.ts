// A mutex every worker thread of the process shares (one Int32 in a SharedArrayBuffer). It serialises
// setting up interpreters: creating one, and importing the adapter into it, both release the GIL
// midway, and another thread must not see a half-made interpreter or a half-executed module. Always
// taken without the GIL held, so it can never deadlock against it.
const UNLOCKED = 0;
const LOCKED = 1;

export class SharedMutex {
  private readonly word: Int32Array;

  constructor(readonly shared: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.word = new Int32Array(shared, 0, 1);
  }

  lock(): void {
    while (Atomics.compareExchange(this.word, 0, UNLOCKED, LOCKED) !== UNLOCKED) {
      Atomics.wait(this.word, 0, LOCKED);
    }
  }

  unlock(): void {
    Atomics.store(this.word, 0, UNLOCKED);
    Atomics.notify(this.word, 0, 1);
  }
}
