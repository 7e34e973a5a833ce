/**
 * Worker pools for the numeric kernels, the same for Node's worker_threads and the browser's Web Workers:
 * every worker runs one handler, `(message) => reply`, given as source text so no module has to be
 * loaded in the worker, and answers its messages one by one, in order.
 */

/** A started worker, seen through the little a pool needs. */
export interface WorkerHandle {
  post(message: unknown): void;
  /** Registers the listener for the worker's replies (`{ ok }` or `{ error }`) and for its crash. */
  listen(onReply: (reply: WorkerReply) => void, onCrash: (error: Error) => void): void;
  /** Node: whether the worker keeps the process alive (only while it has work). */
  keepAlive?(alive: boolean): void;
  terminate(): unknown;
}

/** One answer of a worker's handler. */
export type WorkerReply = { ok: unknown } | { error: string };

/** Starts a worker running `handler` (see workerScript). */
export type SpawnWorker = (handler: string) => WorkerHandle;

/** Workers that all run the same handler. */
export interface WorkerPool {
  readonly size: number;
  /** Sends message i to worker i mod size and resolves with the replies, in order. */
  run(messages: readonly unknown[]): Promise<unknown[]>;
  /** Sends the same message to every worker. */
  broadcast(message: unknown): Promise<unknown[]>;
  /** Stops the workers; the pool must not be used afterwards. */
  dispose(): Promise<void>;
}

/**
 * The script a worker runs: `handler` (source of a function `(message) => reply`) behind `wiring`, code
 * that defines `listen(answer)` and `post(reply)` with the environment's messaging.
 */
export function workerScript(handler: string, wiring: string): string {
  return `${wiring}
const handle = (${handler});
listen((message) => {
  let reply;
  try { reply = { ok: handle(message) }; } catch (error) { reply = { error: String((error && error.stack) || error) }; }
  post(reply);
});`;
}

const WEB_WORKER_WIRING = `const post = (reply) => self.postMessage(reply);
const listen = (answer) => self.addEventListener("message", (event) => answer(event.data));`;

// the slice of the DOM Worker this module uses (the project compiles without the DOM library)
interface WebWorker {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (event: { data: WorkerReply }) => void): void;
  addEventListener(type: "error", listener: (event: { message: string }) => void): void;
  terminate(): void;
}

/** Starts Web Workers from a script in a Blob URL (browser-safe: no file to serve). */
export const spawnWebWorker: SpawnWorker = (handler) => {
  const script = new Blob([workerScript(handler, WEB_WORKER_WIRING)], { type: "text/javascript" });
  const url = URL.createObjectURL(script);
  const { Worker } = globalThis as unknown as { Worker: new (url: string) => WebWorker };
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  return {
    post: (message) => worker.postMessage(message),
    listen: (onReply, onCrash) => {
      worker.addEventListener("message", (event) => onReply(event.data));
      worker.addEventListener("error", (event) => onCrash(new Error(event.message)));
    },
    terminate: () => worker.terminate(),
  };
};

/** A pool of `size` workers started by `spawn`, each running `handler`; workers start on first use. */
export function createWorkerPool(size: number, handler: string, spawn: SpawnWorker): WorkerPool {
  const workers: {
    handle: WorkerHandle;
    waiting: { resolve(v: unknown): void; reject(e: Error): void }[];
  }[] = [];
  const worker = (i: number) => {
    if (!workers[i]) {
      const handle = spawn(handler);
      const entry = { handle, waiting: [] as (typeof workers)[number]["waiting"] };
      const settle = () => {
        const next = entry.waiting.shift();
        if (!entry.waiting.length) handle.keepAlive?.(false);
        return next;
      };
      handle.listen(
        (reply) => {
          const next = settle();
          if ("error" in reply) next?.reject(new Error(`worker: ${reply.error}`));
          else next?.resolve(reply.ok);
        },
        (error) => {
          while (entry.waiting.length) settle()?.reject(error);
        },
      );
      handle.keepAlive?.(false);
      workers[i] = entry;
    }
    return workers[i];
  };
  const send = (i: number, message: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const entry = worker(i);
      entry.waiting.push({ resolve, reject });
      entry.handle.keepAlive?.(true);
      entry.handle.post(message);
    });
  return {
    size,
    run: (messages) => Promise.all(messages.map((message, i) => send(i % size, message))),
    broadcast: (message) => Promise.all(Array.from({ length: size }, (_, i) => send(i, message))),
    dispose: async () => {
      await Promise.all(workers.splice(0).map((w) => w.handle.terminate()));
    },
  };
}
