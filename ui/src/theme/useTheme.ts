// Light/dark theme: follows the system until the user picks one, then remembers the choice.
import { useLayoutEffect, useState } from "react";

export type Theme = "light" | "dark";
const STORAGE_KEY = "stemtrace.theme";

function initialTheme(): Theme {
  try {
    const saved = window.localStorage.getItem(STORAGE_KEY);
    if (saved === "light" || saved === "dark") return saved;
  } catch {
    // storage may be blocked
  }
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  // before paint, so the page never flashes in the other theme
  useLayoutEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  const toggle = () =>
    setTheme((current) => {
      const next = current === "dark" ? "light" : "dark";
      try {
        window.localStorage.setItem(STORAGE_KEY, next);
      } catch {
        // not persisted; still switch
      }
      return next;
    });
  return [theme, toggle];
}
