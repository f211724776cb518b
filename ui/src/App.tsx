import { lazy, Suspense } from "react";
import { Header } from "./components/Header";
import { Loading } from "./components/Status";
import { useConnection } from "./data/useConnection";
import { FlowsPage } from "./pages/FlowsPage";
import { TaskPage } from "./pages/TaskPage";
import { TasksPage } from "./pages/TasksPage";
import { WorkersPage } from "./pages/WorkersPage";
import { links } from "./router/route";
import { useLocation } from "./router/useLocation";
import { useTheme } from "./theme/useTheme";

// The flow view carries the graph libraries: load it only when a flow is opened.
const FlowPage = lazy(() => import("./pages/FlowPage").then((module) => ({ default: module.FlowPage })));

export function App() {
  const location = useLocation();
  const connection = useConnection();
  const [theme, toggleTheme] = useTheme();
  const { route } = location;
  return (
    <div className="app">
      <Header route={route} connection={connection} theme={theme} onToggleTheme={toggleTheme} />
      <main className={route.page === "flow" ? "main main-wide" : "main"}>
        {route.page === "tasks" && <TasksPage query={location.query} replaceQuery={location.replaceQuery} />}
        {route.page === "task" && <TaskPage key={route.id} taskId={route.id} />}
        {route.page === "flows" && <FlowsPage query={location.query} />}
        {route.page === "flow" && (
          <Suspense fallback={<Loading />}>
            <FlowPage key={route.id} rootId={route.id} theme={theme} />
          </Suspense>
        )}
        {route.page === "workers" && <WorkersPage />}
        {route.page === "notFound" && (
          <div className="notice">
            No such page. <a href={links.tasks()}>Go to the task list</a>.
          </div>
        )}
      </main>
    </div>
  );
}
