import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'react-router';
import { api, call, session } from '../api/client';
import { errorSentence } from '../api/errors';
import { Logo } from '../components/Icons';
import { TextField } from '../components/Field';
import { Alert } from '../components/States';
import { validateEmail } from '../lib/validate';

export default function Login() {
  const location = useLocation();
  const queryClient = useQueryClient();
  const state = (location.state ?? {}) as { from?: string; expired?: boolean };
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Log in · ImageCDN';
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = { email: validateEmail(email), password: password ? undefined : 'Enter your password.' };
    setErrors(next);
    setFormError(null);
    if (next.email || next.password) return;
    setBusy(true);
    try {
      const tokens = await call(api.POST('/api/v1/auth/login', { body: { email: email.trim(), password } }));
      queryClient.clear();
      // The login route then sends the user on (to where they were going, or the overview).
      session.setTokens(tokens);
    } catch (err) {
      setFormError(errorSentence(err));
      setBusy(false);
    }
  };

  return (
    <div className="auth">
      <main className="auth-card">
        <Link to="/login" className="brand"><Logo className="brand-mark" /> ImageCDN</Link>
        <h1>Log in</h1>
        <p className="sub">Welcome back. Manage your images, URLs and usage.</p>
        {state.expired && !formError && <Alert kind="info">Your session ended. Please log in again.</Alert>}
        {formError && <Alert kind="error">{formError}</Alert>}
        <form onSubmit={submit} noValidate>
          <TextField
            label="Email"
            type="email"
            name="email"
            autoComplete="email"
            autoFocus
            value={email}
            error={errors.email}
            onChange={(e) => setEmail(e.target.value)}
            onBlur={() => email && setErrors((x) => ({ ...x, email: validateEmail(email) }))}
          />
          <TextField
            label="Password"
            type="password"
            name="password"
            autoComplete="current-password"
            value={password}
            error={errors.password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </button>
        </form>
        <p className="auth-switch">
          New to ImageCDN? <Link to="/signup">Create an account</Link>
        </p>
      </main>
    </div>
  );
}
