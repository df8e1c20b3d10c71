import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api, useConnection } from '../api/instance';

/**
 * Shown while the API cannot be reached. It pings with growing pauses (2 s to 30 s) and,
 * once the API answers, refetches what the page shows. Nothing on the page is discarded:
 * unsaved edits stay in memory and in the local draft.
 */
export function ApiBanner() {
  const reachable = useConnection((s) => s.reachable);
  const queryClient = useQueryClient();
  const [waitS, setWaitS] = useState(2);
  const [countdown, setCountdown] = useState(2);

  useEffect(() => {
    if (reachable) {
      setWaitS(2);
      return;
    }
    setCountdown(waitS);
    const tick = setInterval(() => setCountdown((n) => Math.max(0, n - 1)), 1000);
    const timer = setTimeout(async () => {
      if (await api().ping()) void queryClient.invalidateQueries();
      else setWaitS((s) => Math.min(s * 2, 30));
    }, waitS * 1000);
    return () => {
      clearInterval(tick);
      clearTimeout(timer);
    };
  }, [reachable, waitS, queryClient]);

  if (reachable) return null;
  return (
    <div className="api-banner" role="alert" data-testid="api-unreachable">
      <span>Cannot reach the API. Your edits are kept. Retrying in {countdown}s…</span>
      <button
        type="button"
        className="button small"
        onClick={async () => {
          if (await api().ping()) void queryClient.invalidateQueries();
        }}
      >
        Retry now
      </button>
    </div>
  );
}
