import { useState, type FormEvent } from 'react';
import { api } from '../api/instance';
import { ErrorNote } from '../components/ui';
import { isApiError } from '../api/errors';

/** Email and password; calls `onSignedIn` after the API accepted them. */
export function LoginForm({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api().login(email, password);
      onSignedIn();
    } catch (caught) {
      setError(isApiError(caught, 401) ? new Error('Wrong email or password.') : caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="login-form" onSubmit={submit} data-testid="login-form" aria-label="Sign in">
      <label>
        Email
        <input
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          data-testid="login-email"
          autoFocus
        />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="login-password"
        />
      </label>
      <ErrorNote error={error} testId="login-error" />
      <button type="submit" className="button primary" disabled={busy} data-testid="login-submit">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
