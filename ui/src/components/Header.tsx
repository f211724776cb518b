import { requestRefresh } from "../data/refresh";
import type { Connection } from "../data/useConnection";
import type { Route } from "../router/route";
import { links } from "../router/route";
import type { TimeZoneMode } from "../format/time";
import type { Theme } from "../theme/useTheme";

const NAV = [
  { label: "Overview", href: links.overview(), pages: ["overview"] },
  { label: "Tasks", href: links.tasks(), pages: ["tasks", "task"] },
  { label: "Flows", href: links.flows(), pages: ["flows", "flow"] },
  { label: "Registry", href: links.registry(), pages: ["registry"] },
  { label: "Workers", href: links.workers(), pages: ["workers"] },
];

const MODE_TEXT = { live: "Live", polling: "Polling", offline: "Offline", connecting: "Connecting" } as const;

/** The connection button's tooltip: the server's state, the broker's (with why it is disconnected), the updates'. */
export function describeConnection({ mode, health }: Connection): string {
  if (mode === "offline") return "The server does not answer. Retrying…";
  if (!health) return "Connecting to the server…";
  const reason = health.last_error ? ` (${health.last_error})` : "";
  const consumer = health.consumer_connected === false ? `broker disconnected${reason}` : "broker connected";
  const updates = mode === "live" ? "Live updates over the WebSocket" : "WebSocket down: updates every 2 s";
  return `Server ${health.status}, ${consumer}. ${updates}. Click to refresh now.`;
}

export function Header(props: {
  route: Route;
  connection: Connection;
  theme: Theme;
  onToggleTheme: () => void;
  timeZone: TimeZoneMode;
  onToggleTimeZone: () => void;
}) {
  const { route, connection, theme, onToggleTheme, timeZone, onToggleTimeZone } = props;
  const degraded = connection.health?.status === "degraded";
  return (
    <header className="topbar">
      <a className="brand" href={links.overview()}>
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
          title={describeConnection(connection)}
          onClick={requestRefresh}
        >
          <span className="dot" aria-hidden="true" />
          {MODE_TEXT[connection.mode]}
          {degraded && " · degraded"}
        </button>
        <button
          type="button"
          className="button tz-toggle"
          onClick={onToggleTimeZone}
          data-testid="timezone-toggle"
          data-zone={timeZone}
          title={`Times are shown in ${timeZone === "utc" ? "UTC" : "your local time zone"}. Click for ${timeZone === "utc" ? "local time" : "UTC"}.`}
        >
          {timeZone === "utc" ? "UTC" : "Local time"}
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
