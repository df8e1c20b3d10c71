import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { api } from './instance';
import type { JsonValue } from '../flow/format';
import type { Body, ConnectionType, ExecutionQuery, ExecutionSummary, NodeType } from './models';

/** Query keys, one place, so invalidation stays exact. */
export const keys = {
  me: ['me'] as const,
  flows: (query: object = {}) => ['flows', query] as const,
  flow: (id: string) => ['flow', id] as const,
  revisions: (id: string) => ['flow', id, 'revisions'] as const,
  revision: (id: string, n: number) => ['flow', id, 'revision', n] as const,
  diff: (id: string, from: number, to: number) => ['flow', id, 'diff', from, to] as const,
  nodeTypes: ['node-types'] as const,
  executions: (query: object = {}) => ['executions', query] as const,
  execution: (id: string) => ['execution', id] as const,
  lastExecution: (flowId: string) => ['executions', 'last', flowId] as const,
  variables: ['variables'] as const,
  secrets: ['secrets'] as const,
  connections: ['connections'] as const,
  connectionTypes: ['connection-types'] as const,
  triggers: (flowId: string) => ['triggers', flowId] as const,
  runners: ['runners'] as const,
  runnerTokens: ['runner-tokens'] as const,
  users: ['users'] as const,
  tokens: ['tokens'] as const,
  organization: ['organization'] as const,
};

function useInvalidate() {
  const queryClient = useQueryClient();
  return (...queryKeys: QueryKey[]) =>
    Promise.all(queryKeys.map((queryKey) => queryClient.invalidateQueries({ queryKey })));
}

export const useMe = () => useQuery({ queryKey: keys.me, queryFn: () => api().me(), retry: false, staleTime: 60_000 });

export const useFlows = (query: { archived?: boolean } = {}) =>
  useQuery({
    queryKey: keys.flows(query),
    queryFn: () => api().listFlows(query.archived ? { archived: true } : {}),
    placeholderData: keepPreviousData,
  });

export const useFlow = (id: string) => useQuery({ queryKey: keys.flow(id), queryFn: () => api().getFlow(id) });

export const useRevisions = (id: string) =>
  useQuery({ queryKey: keys.revisions(id), queryFn: () => api().listRevisions(id) });

export const useRevision = (id: string, revision: number | null) =>
  useQuery({
    queryKey: keys.revision(id, revision ?? -1),
    queryFn: () => api().getRevision(id, revision as number),
    enabled: revision !== null,
    staleTime: Infinity, // revisions are immutable
  });

export const useDiff = (id: string, from: number | null, to: number | null) =>
  useQuery({
    queryKey: keys.diff(id, from ?? -1, to ?? -1),
    queryFn: () => api().diff(id, from as number, to as number),
    enabled: from !== null && to !== null,
    staleTime: Infinity,
  });

export const useNodeTypes = () =>
  useQuery({
    queryKey: keys.nodeTypes,
    queryFn: async () => {
      const items = await api().nodeTypes();
      return new Map<string, NodeType>(items.map((item) => [item.type, item]));
    },
    staleTime: 5 * 60_000,
  });

/** The newest execution of a flow, unless the flow list already carried it. */
export const useLastExecution = (flowId: string, provided: ExecutionSummary | null | undefined) =>
  useQuery({
    queryKey: keys.lastExecution(flowId),
    queryFn: async () => (await api().listExecutions({ flow_id: flowId, limit: 1 })).items[0] ?? null,
    enabled: provided === undefined,
    staleTime: 15_000,
  });

export const useExecutions = (query: ExecutionQuery) =>
  useQuery({
    queryKey: keys.executions(query),
    queryFn: () => api().listExecutions({ ...query, limit: 50 }),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
  });

export const useExecution = (id: string) =>
  useQuery({ queryKey: keys.execution(id), queryFn: () => api().getExecution(id) });

export const useVariables = () => useQuery({ queryKey: keys.variables, queryFn: () => api().listVariables() });
export const useSecrets = () => useQuery({ queryKey: keys.secrets, queryFn: () => api().listSecrets() });
export const useConnections = () => useQuery({ queryKey: keys.connections, queryFn: () => api().listConnections() });
export const useConnectionTypes = () =>
  useQuery({
    queryKey: keys.connectionTypes,
    queryFn: async () => {
      const items = await api().listConnectionTypes();
      return new Map<string, ConnectionType>(items.map((item) => [item.type, item]));
    },
    staleTime: 5 * 60_000,
  });
export const useTriggers = (flowId: string) =>
  useQuery({ queryKey: keys.triggers(flowId), queryFn: () => api().listTriggers(flowId) });
export const useRunners = () =>
  useQuery({ queryKey: keys.runners, queryFn: () => api().listRunners(), refetchInterval: 10_000 });
export const useRunnerTokens = (enabled: boolean) =>
  useQuery({ queryKey: keys.runnerTokens, queryFn: () => api().listRunnerTokens(), enabled });
export const useUsers = () => useQuery({ queryKey: keys.users, queryFn: () => api().listUsers() });
export const useTokens = () => useQuery({ queryKey: keys.tokens, queryFn: () => api().listTokens() });

// ---- mutations ----

export function useArchiveFlow() {
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (id: string) => api().archiveFlow(id), onSuccess: () => invalidate(['flows']) });
}

export function usePutVariable() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: ({ name, value }: { name: string; value: JsonValue }) => api().putVariable(name, value),
    onSuccess: () => invalidate(keys.variables),
  });
}

export function useDeleteVariable() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (name: string) => api().deleteVariable(name),
    onSuccess: () => invalidate(keys.variables),
  });
}

export function usePutSecret() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: ({ name, value }: { name: string; value: string }) => api().putSecret(name, value),
    onSuccess: () => invalidate(keys.secrets),
  });
}

export function useDeleteSecret() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (name: string) => api().deleteSecret(name),
    onSuccess: () => invalidate(keys.secrets),
  });
}

export function usePutConnection() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: ({ name, ...body }: Body<'ConnectionBody'> & { name: string }) => api().putConnection(name, body),
    onSuccess: () => invalidate(keys.connections),
  });
}

export function useDeleteConnection() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (name: string) => api().deleteConnection(name),
    onSuccess: () => invalidate(keys.connections),
  });
}

/** A test updates the connection's `last_tested_at` and `last_error`: the list is read again. */
export function useTestConnection() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (name: string) => api().testConnection(name),
    onSettled: () => invalidate(keys.connections),
  });
}

export function useCreateTrigger(flowId: string) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: Body<'TriggerCreate'>) => api().createTrigger(flowId, body),
    onSuccess: () => invalidate(keys.triggers(flowId)),
  });
}

export function usePatchTrigger(flowId: string) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: ({ id, ...body }: Body<'TriggerUpdate'> & { id: string }) => api().patchTrigger(id, body),
    onSuccess: () => invalidate(keys.triggers(flowId)),
  });
}

export function useDeleteTrigger(flowId: string) {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (id: string) => api().deleteTrigger(id),
    onSuccess: () => invalidate(keys.triggers(flowId)),
  });
}

export function useCreateRunnerToken() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: Body<'RunnerTokenCreate'>) => api().createRunnerToken(body),
    onSuccess: () => invalidate(keys.runnerTokens),
  });
}

export function useDeleteRunnerToken() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (id: string) => api().deleteRunnerToken(id),
    onSuccess: () => invalidate(keys.runnerTokens),
  });
}

export function useDeleteRunner() {
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (id: string) => api().deleteRunner(id), onSuccess: () => invalidate(keys.runners) });
}

export function useCreateUser() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: Body<'UserCreate'>) => api().createUser(body),
    onSuccess: () => invalidate(keys.users),
  });
}

export function usePatchUser() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: ({ id, ...body }: Body<'UserUpdate'> & { id: string }) => api().patchUser(id, body),
    onSuccess: () => invalidate(keys.users),
  });
}

export function useDeleteUser() {
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (id: string) => api().deleteUser(id), onSuccess: () => invalidate(keys.users) });
}

export function useCreateToken() {
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: Body<'TokenCreate'>) => api().createToken(body),
    onSuccess: () => invalidate(keys.tokens),
  });
}

export function useDeleteToken() {
  const invalidate = useInvalidate();
  return useMutation({ mutationFn: (id: string) => api().deleteToken(id), onSuccess: () => invalidate(keys.tokens) });
}
