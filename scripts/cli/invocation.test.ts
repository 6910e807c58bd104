import { describe, expect, it } from 'vitest';
import { toolCommand } from './invocation';

describe('toolCommand', () => {
  it('is the pnpm script when tsx runs the source', () => {
    expect(toolCommand('dlq', '/repo/scripts/dlq.ts', '/repo')).toBe('pnpm dlq');
    expect(toolCommand('republish', undefined, '/repo')).toBe('pnpm republish');
  });

  it('is node and the compiled file, relative to the working directory, when node runs the build', () => {
    expect(toolCommand('dlq', '/app/tools/dist/dlq.js', '/app')).toBe('node tools/dist/dlq.js');
    expect(toolCommand('republish', '/repo/tools/dist/republish.js', '/repo')).toBe('node tools/dist/republish.js');
  });

  it('keeps the absolute path when the file is not below the working directory', () => {
    expect(toolCommand('dlq', '/app/tools/dist/dlq.js', '/tmp')).toBe('node /app/tools/dist/dlq.js');
  });
});
