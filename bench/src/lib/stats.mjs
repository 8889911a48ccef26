/** Statistics and the interleaved runner every comparison uses. */
import { performance } from 'node:perf_hooks';

/** The q-quantile (0..1) of numbers, linear between the closest ranks. */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);

/** Median, p10 and p90 of a list of numbers. */
export function summarize(values) {
  return { median: median(values), p10: quantile(values, 0.1), p90: quantile(values, 0.9), n: values.length };
}

/** Times an async function: its metrics object, with `total` (ms) added when it did not set one. */
export async function timed(fn) {
  const start = performance.now();
  const returned = await fn(start);
  const metrics = returned !== null && typeof returned === 'object' ? returned : {};
  if (metrics.total === undefined) metrics.total = performance.now() - start;
  return metrics;
}

/** Every order of the items (A B, B A; for three: all six), so each one follows each other one equally often. */
function permutations(items) {
  if (items.length <= 1) return [items];
  return items.flatMap((first, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [first, ...rest]));
}

/**
 * Runs contenders against each other, interleaved: every iteration runs each of
 * them once, in the next of all their orders (A B, then B A, ...), so drift of
 * the machine (GC, CPU frequency, other processes) is shared, and each one
 * follows each other one (and inherits its garbage) equally often. Each
 * contender's `run(start)` resolves to a metrics object (ms; `total` is added
 * when missing). Per iteration, the ratio subject/reference is computed for
 * every metric and every reference; the report gives medians of those
 * per-pair ratios, with p10/p90, the absolute medians, and the samples.
 *
 * @param {{ subject: string, contenders: Record<string, (start: number) => Promise<object|void>>, iterations: number, warmup: number }} o
 */
export async function interleave({ subject, contenders, iterations, warmup }) {
  const names = Object.keys(contenders);
  if (!names.includes(subject)) throw new Error(`subject "${subject}" is not a contender`);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const orders = permutations(names);
  for (let i = 0; i < warmup + iterations; i++) {
    const order = orders[i % orders.length];
    const row = {};
    for (const name of order) row[name] = await timed(contenders[name]);
    if (i >= warmup) for (const name of names) samples[name].push(row[name]);
  }
  const metricNames = Object.keys(samples[subject][0] ?? {});
  const absolute = {};
  for (const name of names) {
    absolute[name] = {};
    for (const m of metricNames) absolute[name][m] = summarize(samples[name].map((s) => s[m]));
  }
  const ratios = {};
  for (const ref of names.filter((n) => n !== subject)) {
    ratios[ref] = {};
    for (const m of metricNames) {
      ratios[ref][m] = summarize(samples[subject].map((s, i) => s[m] / samples[ref][i][m]));
    }
  }
  return { iterations, warmup, absolute, ratios, samples };
}

/**
 * Runs contenders in blocks: `size` calls of one, then `size` of the next, the
 * order of the blocks going through every permutation as `interleave`'s does.
 * Each contender runs warm (its own calls back to back), not cold as when every
 * call alternates; the first fifth of each block is left out. Resolves with
 * each contender's samples and the summary of each metric.
 *
 * @param {{ contenders: Record<string, (start: number) => Promise<object|void>>, rounds: number, size: number }} o
 */
export async function blocks({ contenders, rounds, size }) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const orders = permutations(names);
  for (let r = 0; r < rounds; r++) {
    for (const name of orders[r % orders.length]) {
      for (let i = 0; i < size; i++) {
        const metrics = await timed(contenders[name]);
        if (i >= size / 5) samples[name].push(metrics);
      }
    }
  }
  const absolute = {};
  for (const name of names) {
    absolute[name] = {};
    for (const m of Object.keys(samples[name][0] ?? {})) absolute[name][m] = summarize(samples[name].map((s) => s[m]));
  }
  return { rounds, size, absolute, samples };
}

/** Runs `count` calls of `fn` with at most `inFlight` at once; resolves with the elapsed ms. */
export async function pool(count, inFlight, fn) {
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return performance.now() - start;
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
