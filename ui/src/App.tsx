import { lazy, Suspense } from "react";
import { Header } from "./components/Header";
import { Loading } from "./components/Status";
import type { Topic } from "./data/liveClient";
import { useConnection } from "./data/useConnection";
import { useTimeZone } from "./format/useTimeZone";
import { FlowsPage } from "./pages/FlowsPage";
import { OverviewPage } from "./pages/OverviewPage";
import { RegistryPage } from "./pages/RegistryPage";
import { TaskPage } from "./pages/TaskPage";
import { TasksPage } from "./pages/TasksPage";
import { WorkersPage } from "./pages/WorkersPage";
import { links, type Route } from "./router/route";
import { useLocation } from "./router/useLocation";
import { useTheme } from "./theme/useTheme";

// The flow view carries the graph libraries: load it only when a flow is opened.
const FlowPage = lazy(() => import("./pages/FlowPage").then((module) => ({ default: module.FlowPage })));

/** A flow page follows its flow on the live feed; every other page all tasks. */
const topicOf = (route: Route): Topic => (route.page === "flow" ? { topic: "flow", id: route.id } : { topic: "tasks" });

export function App() {
  const location = useLocation();
  const { route, query, replaceQuery } = location;
  const connection = useConnection(topicOf(route));
  const [theme, toggleTheme] = useTheme();
  const [timeZone, toggleTimeZone] = useTimeZone();
  return (
    <div className="app">
      <Header
        route={route}
        connection={connection}
        theme={theme}
        onToggleTheme={toggleTheme}
        timeZone={timeZone}
        onToggleTimeZone={toggleTimeZone}
      />
      <main className={route.page === "flow" ? "main main-wide" : "main"}>
        {route.page === "overview" && <OverviewPage query={query} replaceQuery={replaceQuery} />}
        {route.page === "tasks" && <TasksPage query={query} replaceQuery={replaceQuery} />}
        {route.page === "task" && <TaskPage key={route.id} taskId={route.id} />}
        {route.page === "flows" && <FlowsPage query={query} replaceQuery={replaceQuery} />}
        {route.page === "flow" && (
          <Suspense fallback={<Loading />}>
            <FlowPage key={route.id} rootId={route.id} theme={theme} query={query} replaceQuery={replaceQuery} />
          </Suspense>
        )}
        {route.page === "registry" && <RegistryPage query={query} replaceQuery={replaceQuery} />}
        {route.page === "workers" && <WorkersPage />}
        {route.page === "notFound" && (
          <div className="notice">
            No such page. <a href={links.overview()}>Go to the overview</a>.
          </div>
        )}
      </main>
    </div>
  );
}
