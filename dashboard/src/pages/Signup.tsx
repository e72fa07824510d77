import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, call, session } from '../api/client';
import { ApiError, errorSentence, fieldErrors } from '../api/errors';
import { keys } from '../api/queries';
import { Logo } from '../components/Icons';
import { TextField } from '../components/Field';
import { Alert } from '../components/States';
import { MIN_PASSWORD, validateEmail, validatePassword } from '../lib/validate';

export default function Signup() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    document.title = 'Sign up · ImageCDN';
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const next = { email: validateEmail(email), password: validatePassword(password) };
    setErrors(next);
    setFormError(null);
    if (next.email || next.password) return;
    setBusy(true);
    try {
      const result = await call(api.POST('/api/v1/auth/signup', { body: { email: email.trim(), password } }));
      queryClient.clear();
      queryClient.setQueryData(keys.customer, result.customer);
      // Straight into the overview (the sign-up route redirects once the session exists).
      session.setTokens(result);
    } catch (err) {
      const fields = fieldErrors(err);
      if (err instanceof ApiError && err.code === 'email_taken') {
        setErrors({ email: errorSentence(err) });
      } else if (fields.email || fields.password) {
        setErrors(fields);
      } else {
        setFormError(errorSentence(err));
      }
      setBusy(false);
    }
  };

  return (
    <div className="auth">
      <main className="auth-card">
        <Link to="/login" className="brand"><Logo className="brand-mark" /> ImageCDN</Link>
        <h1>Create your account</h1>
        <p className="sub">Free plan: 1 GB of bandwidth and 1 GB of storage a month. No card needed.</p>
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
            name="new-password"
            autoComplete="new-password"
            value={password}
            // The error says the same and more (how many so far): one of the two at a time.
            hint={errors.password ? undefined : `At least ${MIN_PASSWORD} characters.`}
            error={errors.password}
            onChange={(e) => {
              setPassword(e.target.value);
              if (errors.password) setErrors((x) => ({ ...x, password: validatePassword(e.target.value) }));
            }}
            onBlur={() => password && setErrors((x) => ({ ...x, password: validatePassword(password) }))}
          />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Creating your account…' : 'Create account'}
          </button>
        </form>
        <p className="auth-switch">
          Already have an account? <Link to="/login">Log in</Link>
        </p>
      </main>
    </div>
  );
}
