// Shared placeholders for loading, empty and failed views.
import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function ErrorNotice({ error }: { error: Error }) {
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <div className="notice notice-error" role="alert">
      {notFound ? "Not found: " : "Could not load: "}
      {error.message}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="notice">{children}</div>;
}

export function Loading() {
  return (
    <div className="notice" aria-busy="true">
      Loading…
    </div>
  );
}
