import { useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { keys, useExecution } from '../api/hooks';
import { api } from '../api/instance';
import { followExecution } from '../api/sse';
import { applyEvent, fromExecution, type LiveExecution } from './executionState';

export type StreamStatus = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'ended';

/**
 * An execution kept current: read once, then followed through its event stream until it
 * ends, then read again for the final, authoritative state.
 */
export function useLiveExecution(id: string) {
  const queryClient = useQueryClient();
  const query = useExecution(id);
  const [live, setLive] = useState<LiveExecution | null>(null);
  const [stream, setStream] = useState<StreamStatus>('idle');
  const following = useRef<string | null>(null);

  useEffect(() => {
    if (!query.data) return;
    const fresh = fromExecution(query.data);
    // The stream replays every log from the start: begin with none so none is doubled.
    setLive((current) =>
      current && !current.ended && !fresh.ended ? current : fresh.ended ? fresh : { ...fresh, logs: [] },
    );
  }, [query.data]);

  const ended = live?.ended ?? true;
  useEffect(() => {
    if (ended || following.current === id) return;
    following.current = id;
    const subscription = followExecution(api(), id, {
      onEvent: (event) => setLive((current) => (current ? applyEvent(current, event) : current)),
      onStatus: (status) => {
        setStream(status);
        if (status === 'ended') void queryClient.invalidateQueries({ queryKey: keys.execution(id) });
      },
    });
    return () => {
      following.current = null;
      subscription.close();
    };
  }, [ended, id, queryClient]);

  return { query, live, stream };
}
