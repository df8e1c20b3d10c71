import { NavLink, Outlet } from 'react-router';
import { useSession } from '../auth/session';
import { setThemePreference, useTheme, type ThemePreference } from '../theme/theme';
import { ApiBanner } from './ApiBanner';
import type { Action } from '../auth/permissions';

const NAV: { to: string; label: string; needs?: Action }[] = [
  { to: '/flows', label: 'Flows' },
  { to: '/executions', label: 'Executions' },
  { to: '/variables', label: 'Variables' },
  { to: '/secrets', label: 'Secrets' },
  { to: '/connections', label: 'Connections' },
  { to: '/runners', label: 'Runners' },
  { to: '/users', label: 'Users & org', needs: 'users.manage' },
  { to: '/tokens', label: 'API tokens', needs: 'tokens.manage' },
];

const NEXT_THEME: Record<ThemePreference, ThemePreference> = { system: 'light', light: 'dark', dark: 'system' };

export function Layout() {
  const { me, can, signOut } = useSession();
  const { preference } = useTheme();
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Flomation</span>
        <nav aria-label="Main">
          {NAV.filter((item) => !item.needs || can(item.needs)).map((item) => (
            <NavLink key={item.to} to={item.to} data-testid={`nav-${item.to.slice(1)}`}>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className="topbar-right">
          <button
            type="button"
            className="button small ghost"
            data-testid="theme-toggle"
            aria-label={`Theme: ${preference}. Switch to ${NEXT_THEME[preference]}`}
            onClick={() => setThemePreference(NEXT_THEME[preference])}
          >
            {preference === 'dark' ? '☾' : preference === 'light' ? '☀' : '◐'} {preference}
          </button>
          <span className="who" data-testid="current-user" data-role={me.role} title={me.email}>
            {me.name || me.email} · {me.organization?.name} · {me.role}
          </span>
          <button type="button" className="button small" data-testid="sign-out" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <ApiBanner />
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
