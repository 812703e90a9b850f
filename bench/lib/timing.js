// Timing loops shared by inprocess.js and delivery.js.
import { median } from './format.js'

export const BATCHES = 5

/**
 * Median over BATCHES batches of µs per call. `fn(i)` is called with i = 0, 1, 2, … (warm-up
 * first, then the timed calls), so each call can take a request of its own from a pool of at
 * least `warmup + iterations`; it may return a value or a Promise. A result with a `status` other
 * than 200 is counted in `non200` (a rejected request is fast, and must not pass for a handled one).
 */
export async function timeCalls(fn, iterations, warmup) {
  let non200 = 0
  let i = 0
  for (; i < warmup; i++) if ((await fn(i))?.status !== 200) non200++
  const per = Math.max(1, Math.floor(iterations / BATCHES))
  const samples = []
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint()
    for (const end = i + per; i < end; i++) if ((await fn(i))?.status !== 200) non200++
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / per)
  }
  return { usPerOp: median(samples), samplesUs: samples, iterations: per * BATCHES, calls: i, non200 }
}

/** Same, for synchronous functions with no per-call input (no await in the loop). */
export function timeSync(fn, iterations, warmup) {
  let sink = 0
  for (let i = 0; i < warmup; i++) sink ^= fn() ? 1 : 0
  const per = Math.max(1, Math.floor(iterations / BATCHES))
  const samples = []
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < per; i++) sink ^= fn() ? 1 : 0
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / per)
  }
  globalThis.__benchSink = sink
  return { usPerOp: median(samples), samplesUs: samples, iterations: per * BATCHES }
}
