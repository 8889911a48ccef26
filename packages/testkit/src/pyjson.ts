/**
 * JSON text as Python's `json.dumps` writes it with default arguments:
 * `", "` and `": "` separators and `ensure_ascii=True` (non-ASCII as lowercase `\uXXXX`).
 */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map(pyJson).join(', ') + ']';
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v !== undefined) parts.push(pyJson(k) + ': ' + pyJson(v));
      }
      return '{' + parts.join(', ') + '}';
    }
    default:
      return 'null';
  }
}
