import { useQueryClient } from '@tanstack/react-query';
import { Suspense, useEffect, useRef, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { api, session } from '../api/client';
import { useCustomer } from '../api/queries';
import { planLabel } from '../lib/plans';
import { resetUploads } from '../lib/uploads';
import { CardIcon, ChartIcon, GearIcon, HomeIcon, ImageIcon, KeyIcon, Logo, MenuIcon, XIcon } from './Icons';
import { Loading } from './States';

const NAV = [
  { to: '/', label: 'Overview', icon: HomeIcon, end: true },
  { to: '/images', label: 'Images', icon: ImageIcon },
  { to: '/usage', label: 'Usage', icon: ChartIcon },
  { to: '/keys', label: 'API keys', icon: KeyIcon },
  { to: '/billing', label: 'Billing', icon: CardIcon },
  { to: '/settings', label: 'Settings', icon: GearIcon },
];

export function Layout() {
  const customer = useCustomer();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const [loggingOut, setLoggingOut] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const firstLink = useRef<HTMLAnchorElement>(null);

  useEffect(() => setMenuOpen(false), [location.pathname]);
  useEffect(() => {
    if (!menuOpen) return;
    firstLink.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setMenuOpen(false);
        menuButton.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [menuOpen]);

  const logout = async () => {
    setLoggingOut(true);
    try {
      // The refresh cookie is the credential: the server revokes its family and clears it.
      await api.POST('/api/v1/auth/logout', { body: {} });
    } catch {
      // Logged out locally all the same.
    }
    session.clear();
    queryClient.clear();
    resetUploads();
    navigate('/login', { replace: true });
  };

  const c = customer.data;
  return (
    <>
      <a className="skip-link" href="#main">Skip to content</a>
      <div className="app">
        <header className="topbar">
          <Link to="/" className="brand" style={{ color: '#fff' }}>
            <Logo className="brand-mark" /> ImageCDN
          </Link>
          <button
            ref={menuButton}
            type="button"
            className="btn btn-sm btn-ghost"
            style={{ color: '#e5e7eb', borderColor: '#4b5563' }}
            aria-expanded={menuOpen}
            aria-controls="sidebar"
            onClick={() => setMenuOpen((o) => !o)}
          >
            {menuOpen ? <XIcon /> : <MenuIcon />} Menu
          </button>
        </header>
        {menuOpen && <button type="button" className="scrim" aria-label="Close the menu" onClick={() => setMenuOpen(false)} />}
        <nav id="sidebar" className={`sidebar ${menuOpen ? 'open' : ''}`} aria-label="Main">
          <Link to="/" className="brand">
            <Logo className="brand-mark" /> ImageCDN
          </Link>
          <ul className="nav">
            {NAV.map(({ to, label, icon: Icon, end }, i) => (
              <li key={to}>
                <NavLink to={to} end={end} ref={i === 0 ? firstLink : undefined}>
                  <Icon /> {label}
                </NavLink>
              </li>
            ))}
          </ul>
          <div className="sidebar-footer">
            {c && (
              <>
                <span className="account" title={c.email}>{c.email}</span>
                <span>
                  <span className="badge badge-accent">{planLabel(c.plan)} plan</span>
                </span>
              </>
            )}
            <button type="button" className="btn btn-sm btn-ghost" onClick={logout} disabled={loggingOut}>
              {loggingOut ? 'Logging out…' : 'Log out'}
            </button>
          </div>
        </nav>
        <main id="main" className="main">
          {c?.billing_status === 'past_due' && (
            <div className="alert alert-warning" role="status">
              <div>
                <strong>Your last payment failed.</strong> Your plan stays active for a short grace period;{' '}
                <Link to="/billing">update your payment method</Link> to keep it.
              </div>
            </div>
          )}
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </main>
      </div>
    </>
  );
}
