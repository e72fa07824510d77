// What a route shows when it throws (a page chunk that failed to load after an update, a bug):
// never a blank screen.
import { useEffect } from 'react';
import { Link, useRouteError } from 'react-router';
import { AlertIcon, RefreshIcon } from './Icons';

export function RouteError() {
  const error = useRouteError();
  useEffect(() => {
    document.title = 'Something went wrong · ImageCDN';
    console.error(error);
  }, [error]);
  const chunk = error instanceof Error && /dynamically imported module|Importing a module script failed|Failed to fetch/i.test(error.message);
  return (
    <div className="full-page" style={{ padding: '1rem', minHeight: '60vh' }}>
      <div className="card" style={{ maxWidth: 480 }}>
        <div className="state" role="alert">
          <AlertIcon />
          <h1 style={{ fontSize: '1.3rem' }}>Something went wrong</h1>
          <p>
            {chunk
              ? 'The dashboard was updated or the connection dropped while loading this page.'
              : 'This page hit an unexpected error.'}{' '}
            Reloading usually fixes it.
          </p>
          <div className="row" style={{ justifyContent: 'center' }}>
            <button type="button" className="btn btn-primary" onClick={() => window.location.reload()}>
              <RefreshIcon /> Reload
            </button>
            <Link to="/" className="btn" reloadDocument>Go to the overview</Link>
          </div>
        </div>
      </div>
    </div>
  );
}
