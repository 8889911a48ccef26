/**
 * A copy of a record without its `undefined` fields: a request body built
 * from optional settings sends only those that are set. A loop rather than
 * `fromEntries(entries().filter())`: it runs on every request.
 */
export function withoutUndefined<T extends Record<string, unknown>>(record: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (record[key] !== undefined) out[key] = record[key];
  return out as Partial<T>;
}
