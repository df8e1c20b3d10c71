import { createStore } from 'zustand/vanilla';
import { useStore } from 'zustand';
import { ApiClient, authModeFor } from './client';
import { apiOrigin, type EditorConfig } from '../config';

/** Connection facts the whole UI reacts to. */
export interface ConnectionState {
  reachable: boolean;
  /** A call answered 401 after the user had signed in: show sign-in over the page. */
  sessionLost: boolean;
}

export const connectionStore = createStore<ConnectionState>()(() => ({ reachable: true, sessionLost: false }));

export function useConnection<T>(selector: (state: ConnectionState) => T): T {
  return useStore(connectionStore, selector);
}

let client: ApiClient | null = null;
let origin = '';

export function initApi(config: EditorConfig, fetchImpl?: typeof fetch): ApiClient {
  const mode = authModeFor(config.apiBaseUrl, window.location.origin);
  origin = apiOrigin(config);
  // Absolute, so requests are built the same in the browser and in tests.
  client = new ApiClient({ baseUrl: origin, mode, tokenStore: window.sessionStorage, fetchImpl });
  client.events = {
    onReachability: (reachable) => {
      if (connectionStore.getState().reachable !== reachable) connectionStore.setState({ reachable });
    },
    onUnauthorized: () => connectionStore.setState({ sessionLost: true }),
  };
  return client;
}

/** The configured client; the app calls `initApi` before it renders. */
export function api(): ApiClient {
  if (!client) throw new Error('initApi() was not called');
  return client;
}

/** Where the API is, as users and runners reach it (`<origin>/hooks/...`). */
export function apiPublicOrigin(): string {
  return origin;
}
