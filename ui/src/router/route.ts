// Hash routes: #/tasks, #/tasks/<id>, #/flows, #/flows/<root_id>, #/workers — each with an optional ?query.

export type Route =
  | { page: "tasks" }
  | { page: "task"; id: string }
  | { page: "flows" }
  | { page: "flow"; id: string }
  | { page: "workers" }
  | { page: "notFound" };

export interface Location {
  route: Route;
  query: URLSearchParams;
}

export function parseHash(hash: string): Location {
  const raw = hash.replace(/^#/, "");
  const queryAt = raw.indexOf("?");
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? "" : raw.slice(queryAt + 1));
  const [section = "", id, ...rest] = path.split("/").filter(Boolean);
  return { route: toRoute(section, id === undefined ? undefined : safeDecode(id), rest.length > 0), query };
}

function toRoute(section: string, id: string | undefined, extra: boolean): Route {
  if (extra) return { page: "notFound" };
  switch (section) {
    case "":
    case "tasks":
      return id === undefined ? { page: "tasks" } : section ? { page: "task", id } : { page: "notFound" };
    case "flows":
      return id === undefined ? { page: "flows" } : { page: "flow", id };
    case "workers":
      return id === undefined ? { page: "workers" } : { page: "notFound" };
    default:
      return { page: "notFound" };
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The hash (with "#") for a path and optional query; empty queries leave no "?". */
export function hrefFor(path: string, query?: URLSearchParams): string {
  const qs = query?.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

export const links = {
  tasks: (query?: URLSearchParams) => hrefFor("/tasks", query),
  task: (id: string) => hrefFor(`/tasks/${encodeURIComponent(id)}`),
  flows: (query?: URLSearchParams) => hrefFor("/flows", query),
  flow: (rootId: string) => hrefFor(`/flows/${encodeURIComponent(rootId)}`),
  workers: () => hrefFor("/workers"),
};
