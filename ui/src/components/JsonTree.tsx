// Arbitrary JSON shown as a collapsible tree. Text only: values are never interpreted as markup.

function Leaf({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="json-null">null</span>;
  if (typeof value === "string") return <span className="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === "number") return <span className="json-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="json-bool">{String(value)}</span>;
  return <span>{String(value)}</span>;
}

function Branch({ value, label, depth }: { value: object; label?: string; depth: number }) {
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) {
    return (
      <div className="json-row">
        {label !== undefined && <span className="json-key">{label}: </span>}
        {open + close}
      </div>
    );
  }
  return (
    <details className="json-branch" open={depth < 2}>
      <summary>
        {label !== undefined && <span className="json-key">{label}: </span>}
        {open}
        <span className="json-count">
          {entries.length} {Array.isArray(value) ? "items" : "keys"}
        </span>
        {close}
      </summary>
      <div className="json-children">
        {entries.map(([key, child]) => (
          <JsonNode key={key} label={key} value={child} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}

function JsonNode({ value, label, depth }: { value: unknown; label?: string; depth: number }) {
  if (value !== null && typeof value === "object") return <Branch value={value} label={label} depth={depth} />;
  return (
    <div className="json-row">
      {label !== undefined && <span className="json-key">{label}: </span>}
      <Leaf value={value} />
    </div>
  );
}

export function JsonTree({ value }: { value: unknown }) {
  return (
    <div className="json">
      <JsonNode value={value} depth={0} />
    </div>
  );
}
