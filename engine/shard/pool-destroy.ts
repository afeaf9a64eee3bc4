/**
 * Destroying a piscina pool safely. Node 20.20 aborts the whole process (assertions in ModuleWrap /
 * SourceTextModule) when a worker thread is terminated while it is still loading its ES module; a pool
 * destroyed right after a short capture, before every thread finished starting, hit it now and then. So
 * every worker module posts WORKER_LOADED at the end of its top level, and destroyPool waits for that
 * from each thread the pool started (bounded, so a thread that failed to start cannot hang the caller).
 */
import type { Piscina } from "piscina";

/** Posted by a worker module (workers/*.ts) once its top level ran. */
export const WORKER_LOADED = "ctreplay:worker-loaded";

/** Counts the threads of `pool` that finished loading; call before the pool can be destroyed. */
export function watchLoaded(pool: Piscina): () => number {
  let loaded = 0;
  pool.on("message", (m: unknown) => {
    if (m === WORKER_LOADED) loaded++;
  });
  return () => loaded;
}

/** Waits (up to `maxWaitMs`) until every started thread has loaded, then destroys the pool. */
export async function destroyPool(pool: Piscina, loaded: () => number, maxWaitMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (loaded() < pool.threads.length && Date.now() - t0 < maxWaitMs)
    await new Promise((r) => setTimeout(r, 2));
  await pool.destroy();
}
