import { useState } from "react";

/** A small button that copies `text` and says so for a moment. */
export function CopyButton({ text, label = "Copy", caption = "Copy" }: { text: string; label?: string; caption?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      return; // clipboard unavailable (insecure context): nothing to confirm
    }
    setCopied(true);
    window.setTimeout(() => setCopied(false), 1200);
  };
  return (
    <button type="button" className="copy" onClick={copy} title={`${label}: ${text}`} aria-label={`${label} ${text}`}>
      {copied ? "Copied" : caption}
    </button>
  );
}
