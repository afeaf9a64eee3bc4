/**
 * JSON text exactly as Python's `json.dumps(value, sort_keys=True)` writes it (", " and ": " separators,
 * keys sorted by code point, non-ASCII escaped as \uXXXX): the kernel-oracle tool's table.jsonl format,
 * reproduced byte for byte so both tools' outputs can be diffed directly.
 */
export type PyJson = null | boolean | number | string | PyJson[] | { [key: string]: PyJson };

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += s[i];
  }
  return `${out}"`;
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function pyJsonDumps(v: PyJson): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    // Python repr of a float: shortest round-trip, like JS, but always with a '.' or exponent.
    const s = String(v);
    return /[.eE]/.test(s) || !Number.isFinite(v) ? s : `${s}.0`;
  }
  if (typeof v === "string") return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(", ")}]`;
  const keys = Object.keys(v).sort(byCodePoint);
  return `{${keys.map((k) => `${pyString(k)}: ${pyJsonDumps(v[k] as PyJson)}`).join(", ")}}`;
}
