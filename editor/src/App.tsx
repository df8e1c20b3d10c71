import { lazy, Suspense, type ReactNode } from 'react';
import { createHashRouter, Navigate, RouterProvider } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { SessionProvider } from './auth/session';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';
import { ApiError, ApiUnreachableError } from './api/errors';
import { useTheme } from './theme/theme';

const FlowsPage = lazy(() => import('./pages/FlowsPage'));
const FlowEditorPage = lazy(() => import('./pages/FlowEditorPage'));
const ExecutionsPage = lazy(() => import('./pages/ExecutionsPage'));
const ExecutionPage = lazy(() => import('./pages/ExecutionPage'));
const TriggersPage = lazy(() => import('./pages/TriggersPage'));
const VariablesPage = lazy(() => import('./pages/VariablesPage'));
const SecretsPage = lazy(() => import('./pages/SecretsPage'));
const ConnectionsPage = lazy(() => import('./pages/ConnectionsPage'));
const RunnersPage = lazy(() => import('./pages/RunnersPage'));
const UsersPage = lazy(() => import('./pages/UsersPage'));
const TokensPage = lazy(() => import('./pages/TokensPage'));

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Retry only what may heal: an unreachable API (the banner pings it) or throttling.
        retry: (failures, error) =>
          failures < 3 && (error instanceof ApiUnreachableError || (error instanceof ApiError && error.status === 429)),
        refetchOnWindowFocus: false,
      },
    },
  });
}

const defaultQueryClient = createQueryClient();

const page = (element: ReactNode) => <Suspense fallback={<Loading />}>{element}</Suspense>;

// Hash routing: the API serves index.html at `/` only, with no fallback for deep links.
const router = createHashRouter([
  {
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/flows" replace /> },
      { path: '/flows', element: page(<FlowsPage />) },
      { path: '/flows/:flowId', element: page(<FlowEditorPage />) },
      { path: '/flows/:flowId/triggers', element: page(<TriggersPage />) },
      { path: '/executions', element: page(<ExecutionsPage />) },
      { path: '/executions/:executionId', element: page(<ExecutionPage />) },
      { path: '/variables', element: page(<VariablesPage />) },
      { path: '/secrets', element: page(<SecretsPage />) },
      { path: '/connections', element: page(<ConnectionsPage />) },
      { path: '/runners', element: page(<RunnersPage />) },
      { path: '/users', element: page(<UsersPage />) },
      { path: '/tokens', element: page(<TokensPage />) },
      {
        path: '*',
        element: (
          <p className="muted">
            Nothing here. <a href="#/flows">Back to flows</a>
          </p>
        ),
      },
    ],
  },
]);

function Themed({ children }: { children: ReactNode }) {
  useTheme();
  return <>{children}</>;
}

export function App({ queryClient = defaultQueryClient }: { queryClient?: QueryClient }) {
  return (
    <QueryClientProvider client={queryClient}>
      <Themed>
        <SessionProvider>
          <RouterProvider router={router} />
        </SessionProvider>
      </Themed>
    </QueryClientProvider>
  );
}
