import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { createBrowserRouter, Navigate, RouterProvider, useLocation } from 'react-router';
import { queryClient } from './api/queryClient';
import { onSessionExpired } from './api/client';
import { ConfirmProvider } from './components/Confirm';
import { Layout } from './components/Layout';
import { RouteError } from './components/RouteError';
import { Loading } from './components/States';
import { ToastProvider } from './components/Toasts';
import { resetUploads } from './lib/uploads';
import { bootstrapSession, useAuthenticated } from './session/useSession';

const Login = lazy(() => import('./pages/Login'));
const Signup = lazy(() => import('./pages/Signup'));
const loadOverview = () => import('./pages/Overview');
const Overview = lazy(loadOverview);
const Images = lazy(() => import('./pages/Images'));
const Usage = lazy(() => import('./pages/Usage'));
const Keys = lazy(() => import('./pages/Keys'));
const Billing = lazy(() => import('./pages/Billing'));
const Settings = lazy(() => import('./pages/Settings'));
const NotFound = lazy(() => import('./pages/NotFound'));


/** Pages of a logged-in customer; others go to the login page, which brings them back. */
function RequireAuth({ children }: { children: ReactNode }) {
  const authenticated = useAuthenticated();
  const location = useLocation();
  if (!authenticated) {
    return <Navigate to="/login" replace state={{ from: `${location.pathname}${location.search}` }} />;
  }
  return children;
}

/** Login and sign-up: a logged-in customer goes straight to the dashboard. */
function PublicOnly({ children }: { children: ReactNode }) {
  const authenticated = useAuthenticated();
  const location = useLocation();
  if (authenticated) {
    // Back to the page that asked for a login (kept in history state, never in the URL).
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from && !from.startsWith('/login') && !from.startsWith('/signup') ? from : '/'} replace />;
  }
  return <Suspense fallback={<div className="full-page"><Loading /></div>}>{children}</Suspense>;
}

const router = createBrowserRouter(
  [
    { path: '/login', element: <PublicOnly><Login /></PublicOnly>, errorElement: <RouteError /> },
    { path: '/signup', element: <PublicOnly><Signup /></PublicOnly>, errorElement: <RouteError /> },
    {
      path: '/',
      element: <RequireAuth><Layout /></RequireAuth>,
      errorElement: <RouteError />,
      children: [
        {
          // A page that fails shows its error inside the layout, with the navigation still there.
          errorElement: <RouteError />,
          children: [
            { index: true, element: <Overview /> },
            { path: 'images', element: <Images /> },
            { path: 'usage', element: <Usage /> },
            { path: 'keys', element: <Keys /> },
            { path: 'billing', element: <Billing /> },
            { path: 'settings', element: <Settings /> },
            { path: '*', element: <NotFound /> },
          ],
        },
      ],
    },
  ],
  { basename: '/dashboard' },
);

onSessionExpired(() => {
  queryClient.clear();
  resetUploads();
  const { pathname, search } = router.state.location;
  if (pathname !== '/login' && pathname !== '/signup') {
    void router.navigate('/login', { replace: true, state: { from: `${pathname}${search}`, expired: true } });
  }
});

export function App() {
  const [booted, setBooted] = useState(false);
  useEffect(() => {
    let live = true;
    // The overview's code loads while the session is restored: most visits land there.
    if (window.location.pathname.replace(/\/+$/, '') === '/dashboard') void loadOverview();
    void bootstrapSession().finally(() => live && setBooted(true));
    return () => {
      live = false;
    };
  }, []);
  return (
    <QueryClientProvider client={queryClient}>
      <ToastProvider>
        <ConfirmProvider>
          {booted ? (
            <RouterProvider router={router} />
          ) : (
            <div className="full-page"><Loading label="Loading your dashboard…" /></div>
          )}
        </ConfirmProvider>
      </ToastProvider>
    </QueryClientProvider>
  );
}
