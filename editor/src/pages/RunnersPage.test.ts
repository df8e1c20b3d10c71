import { describe, expect, it } from 'vitest';
import { runnerCommand } from './RunnersPage';

describe('runnerCommand', () => {
  it('passes the token in the environment, never as a command-line argument', () => {
    const command = runnerCommand('https://flomation.example.com', 'flo_r_secret');
    expect(command).toBe('FLOMATION_RUNNER_TOKEN=flo_r_secret flomation runner --api https://flomation.example.com');
    expect(command).not.toContain('--token');
  });
});
