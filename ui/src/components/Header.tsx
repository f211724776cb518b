import { requestRefresh } from "../data/refresh";
import type { Connection } from "../data/useConnection";
import type { Route } from "../router/route";
import { links } from "../router/route";
import type { Theme } from "../theme/useTheme";

const NAV = [
  { label: "Tasks", href: links.tasks(), pages: ["tasks", "task"] },
  { label: "Flows", href: links.flows(), pages: ["flows", "flow"] },
  { label: "Workers", href: links.workers(), pages: ["workers"] },
];

const MODE_TEXT = { live: "Live", polling: "Polling", offline: "Offline", connecting: "Connecting" } as const;

function describe({ mode, health }: Connection): string {
  if (mode === "offline") return "The server does not answer. Retrying…";
  if (!health) return "Connecting to the server…";
  const consumer = health.consumer_connected === false ? "broker disconnected" : "broker connected";
  const updates = mode === "live" ? "Live updates" : "Updates every 2 s";
  return `Server ${health.status}, ${consumer}. ${updates}. Click to refresh now.`;
}

export function Header(props: { route: Route; connection: Connection; theme: Theme; onToggleTheme: () => void }) {
  const { route, connection, theme, onToggleTheme } = props;
  const degraded = connection.health?.status === "degraded";
  return (
    <header className="topbar">
      <a className="brand" href={links.tasks()}>
        <img src="./favicon.svg" alt="" width={22} height={22} />
        <span>stemtrace</span>
        {connection.health?.version && <span className="version">v{connection.health.version}</span>}
      </a>
      <nav className="nav" aria-label="Main">
        {NAV.map((item) => (
          <a key={item.label} href={item.href} aria-current={item.pages.includes(route.page) ? "page" : undefined}>
            {item.label}
          </a>
        ))}
      </nav>
      <div className="topbar-actions">
        <button
          type="button"
          className={`conn conn-${connection.mode}${degraded ? " conn-degraded" : ""}`}
          data-testid="connection-status"
          data-mode={connection.mode}
          title={describe(connection)}
          onClick={requestRefresh}
        >
          <span className="dot" aria-hidden="true" />
          {MODE_TEXT[connection.mode]}
          {degraded && " · degraded"}
        </button>
        <button
          type="button"
          className="icon-button"
          onClick={onToggleTheme}
          data-testid="theme-toggle"
          aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
          title={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
        >
          {theme === "dark" ? "☀" : "☾"}
        </button>
      </div>
    </header>
  );
}
