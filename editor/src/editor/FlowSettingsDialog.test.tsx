// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { Flow } from '../api/models';
import type { FlowDefinition } from '../flow/format';
import { ifElse } from '../test/fixtures';
import { FlowSettingsDialog } from './FlowSettingsDialog';

const flow = (definition: FlowDefinition): Flow => ({
  id: 'f1',
  name: 'F',
  description: '',
  revision: 1,
  max_concurrent_executions: null,
  runs_on: {},
  created_by: null,
  created_at: '',
  updated_at: '',
  archived_at: null,
  definition,
  hash: '',
});

function open(definition: FlowDefinition) {
  const onDefinition = vi.fn();
  render(
    <QueryClientProvider client={new QueryClient()}>
      <FlowSettingsDialog
        flow={flow(definition)}
        definition={definition}
        canWrite
        onDefinition={onDefinition}
        onClose={() => undefined}
      />
    </QueryClientProvider>,
  );
  return onDefinition;
}

afterEach(cleanup);

describe('FlowSettingsDialog save_data', () => {
  it('sets what the flow keeps in its definition', async () => {
    const onDefinition = open(ifElse);
    const select = screen.getByTestId('flow-settings-save-data') as HTMLSelectElement;
    expect(select.value).toBe('');
    fireEvent.change(select, { target: { value: 'errors' } });
    fireEvent.click(screen.getByTestId('flow-settings-submit'));
    await vi.waitFor(() => expect(onDefinition).toHaveBeenCalledTimes(1));
    expect(onDefinition.mock.calls[0][0]).toEqual({ ...ifElse, save_data: 'errors' });
  });

  it('back to the organisation default removes the field', async () => {
    const onDefinition = open({ ...ifElse, save_data: 'none' });
    const select = screen.getByTestId('flow-settings-save-data') as HTMLSelectElement;
    expect(select.value).toBe('none');
    fireEvent.change(select, { target: { value: '' } });
    fireEvent.click(screen.getByTestId('flow-settings-submit'));
    await vi.waitFor(() => expect(onDefinition).toHaveBeenCalledTimes(1));
    expect(onDefinition.mock.calls[0][0]).toEqual(ifElse);
  });
});
