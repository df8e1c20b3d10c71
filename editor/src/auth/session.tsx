import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useMe } from '../api/hooks';
import { api, connectionStore, useConnection } from '../api/instance';
import { ApiUnreachableError } from '../api/errors';
import type { Me } from '../api/models';
import { can, type Action } from './permissions';
import { LoginForm } from './LoginForm';
import { Modal, Loading } from '../components/ui';
import { ApiBanner } from '../components/ApiBanner';

export interface Session {
  me: Me;
  can: (action: Action) => boolean;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** Shorthand: whether the signed-in role may do `action`. */
export function useCan(action: Action): boolean {
  return useSession().can(action);
}

/**
 * Renders the app for a signed-in user, else the sign-in page. A session that expires later
 * (any 401) opens sign-in over the page, so whatever is open keeps its unsaved edits.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const sessionLost = useConnection((s) => s.sessionLost);

  const session = useMemo<Session | null>(() => {
    if (!me.data) return null;
    return {
      me: me.data,
      can: (action) => can(me.data.role, action),
      signOut: async () => {
        await api()
          .logout()
          .catch(() => undefined);
        connectionStore.setState({ sessionLost: false });
        // `me` is emptied in place, not removed: removing it would leave this provider's
        // observer on the dropped query, still showing the signed-out user.
        queryClient.setQueryData(keys.me, null);
        queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== keys.me[0] });
      },
    };
  }, [me.data, queryClient]);

  if (me.isPending) return <Loading what="Starting" />;

  if (!session) {
    return (
      <main className="login-page">
        <ApiBanner />
        <div className="login-card">
          <h1 className="brand">Flomation</h1>
          {me.error instanceof ApiUnreachableError ? (
            <p className="muted">The API cannot be reached yet; sign in once it is back.</p>
          ) : null}
          <LoginForm
            onSignedIn={() => {
              connectionStore.setState({ sessionLost: false });
              void queryClient.invalidateQueries();
            }}
          />
        </div>
      </main>
    );
  }

  return (
    <SessionContext.Provider value={session}>
      {children}
      {sessionLost ? (
        <Modal title="Your session ended: sign in again" onClose={() => undefined} testId="relogin-dialog">
          <p className="muted">Your unsaved changes are kept; they stay on this page and in this browser's draft.</p>
          <LoginForm
            onSignedIn={() => {
              connectionStore.setState({ sessionLost: false });
              void queryClient.invalidateQueries();
            }}
          />
        </Modal>
      ) : null}
    </SessionContext.Provider>
  );
}
