/**
 * @module
 * The sizes of the benchmark workloads, apart from their definitions (`workloads.ts`) so that the Cloudflare
 * Workflows peer (`bench/peers/cf-workflows/worker.ts`) builds the same shapes without bundling the engine.
 */

/** Steps of W1 (the N of the N + 3 budget). */
export const W1_STEPS = 10
/** Parallel steps of W2 (plus one aggregating step). */
export const W2_BRANCHES = 16
/** Concurrent W1 runs in one W3 batch. */
export const W3_RUNS = 100
/** Steps of the one W4 run. */
export const W4_STEPS = 10_000
/** Items of the one W5 map, and how many run at once. */
export const W5_ITEMS = 10_000
export const W5_CONCURRENCY = 50
