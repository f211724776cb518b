// Hash routes: #/ and #/overview, #/tasks, #/tasks/<id>, #/flows, #/flows/<root_id>, #/registry, #/workers —
// each with an optional ?query.

export type Route =
  | { page: "overview" }
  | { page: "tasks" }
  | { page: "task"; id: string }
  | { page: "flows" }
  | { page: "flow"; id: string }
  | { page: "registry" }
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
    case "overview":
      return id === undefined ? { page: "overview" } : { page: "notFound" };
    case "tasks":
      return id === undefined ? { page: "tasks" } : { page: "task", id };
    case "flows":
      return id === undefined ? { page: "flows" } : { page: "flow", id };
    case "registry":
      return id === undefined ? { page: "registry" } : { page: "notFound" };
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
  overview: (query?: URLSearchParams) => hrefFor("/overview", query),
  tasks: (query?: URLSearchParams) => hrefFor("/tasks", query),
  task: (id: string) => hrefFor(`/tasks/${encodeURIComponent(id)}`),
  flows: (query?: URLSearchParams) => hrefFor("/flows", query),
  flow: (rootId: string) => hrefFor(`/flows/${encodeURIComponent(rootId)}`),
  registry: (query?: URLSearchParams) => hrefFor("/registry", query),
  workers: () => hrefFor("/workers"),
};
