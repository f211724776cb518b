// Local time / UTC for every timestamp on the page: remembered across visits. Changing it re-renders
// the app from the top (App owns this state), so every formatter picks the new mode up.
import { useState } from "react";
import { setTimeZoneMode, type TimeZoneMode } from "./time";

const STORAGE_KEY = "stemtrace.timezone";

function savedMode(): TimeZoneMode {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === "utc" ? "utc" : "local";
  } catch {
    return "local";
  }
}

export function useTimeZone(): [TimeZoneMode, () => void] {
  const [mode, setMode] = useState<TimeZoneMode>(() => {
    const initial = savedMode();
    setTimeZoneMode(initial);
    return initial;
  });
  const toggle = () => {
    const next: TimeZoneMode = mode === "utc" ? "local" : "utc";
    setTimeZoneMode(next);
    try {
      window.localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // not persisted; still switch
    }
    setMode(next);
  };
  return [mode, toggle];
}
