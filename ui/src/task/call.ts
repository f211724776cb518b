// "Copy as call": the Python that sends this task again with the same arguments.

/** A JSON value as a Python literal (None/True/False, repr-style strings, lists, dicts). */
export function toPython(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : `float('${value > 0 ? "inf" : value < 0 ? "-inf" : "nan"}')`;
  if (typeof value === "string") return pyString(value);
  if (Array.isArray(value)) return `[${value.map(toPython).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pyString(k)}: ${toPython(v)}`).join(", ")}}`;
  }
  return pyString(String(value));
}

/** Like Python's repr(str): single quotes unless the text has ' and no ", control characters escaped. */
export function pyString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return quote + out + quote;
}

/**
 * `app.signature('name').apply_async(args=[...], kwargs={...})`, or undefined when the recorded
 * arguments are not a list and a dict (for example truncated to a string by the capture library).
 */
export function callSnippet(name: string | null, args: unknown, kwargs: unknown): string | undefined {
  if (!name) return undefined;
  const list = args === undefined || args === null ? [] : args;
  const dict = kwargs === undefined || kwargs === null ? {} : kwargs;
  if (!Array.isArray(list) || typeof dict !== "object" || Array.isArray(dict)) return undefined;
  return `app.signature(${pyString(name)}).apply_async(args=${toPython(list)}, kwargs=${toPython(dict)})`;
}
