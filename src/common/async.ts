/** Resolves after `ms`, or rejects with the signal's reason as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(function sleepDone() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Yields to the macrotask queue so I/O callbacks and timers get a turn. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// Random words for ids, drawn from the CSPRNG 256 at a time: one call per id cost a tenth of a
// short run's time in memory.
const idWords = new Uint32Array(256);
let idWord = idWords.length;

/** Random-enough unique id, sortable by creation time (ms timestamp prefix). */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, '0');
  if (idWord + 2 > idWords.length) {
    crypto.getRandomValues(idWords);
    idWord = 0;
  }
  const a = idWords[idWord++]!;
  const b = idWords[idWord++]!;
  return `${prefix}_${time}${a.toString(36).padStart(7, '0')}${b.toString(36).padStart(7, '0')}`;
}
