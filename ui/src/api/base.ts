// Where the API lives: next to index.html, whatever prefix the UI is mounted under.

/** The directory of a page path, always ending in "/" ("/stemtrace/" and "/stemtrace/index.html" → "/stemtrace/"). */
export function apiBase(pathname: string): string {
  const dir = pathname.slice(0, pathname.lastIndexOf("/") + 1);
  return (dir || "/") + "api/";
}

/** The WebSocket feed beside the API: page at https://h/stemtrace/ → wss://h/stemtrace/ws. */
export function wsUrl(location: Pick<Location, "protocol" | "host" | "pathname"> = window.location): string {
  const dir = apiBase(location.pathname).slice(0, -"api/".length);
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${dir}ws`;
}

export type QueryValue = string | number | boolean | null | undefined;

/** Absolute-path URL of an API route; empty and null parameters are left out. */
export function apiUrl(
  path: string,
  params: Record<string, QueryValue> = {},
  pathname: string = window.location.pathname,
): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const qs = query.toString();
  return apiBase(pathname) + path.replace(/^\/+/, "") + (qs ? `?${qs}` : "");
}
