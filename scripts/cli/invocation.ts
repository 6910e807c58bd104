/**
 * How the operator started a tool, for its usage text and the commands its messages suggest: `pnpm dlq`
 * from the repository (tsx runs `scripts/dlq.ts`), `node tools/dist/dlq.js` where `pnpm build`'s output
 * runs (the image, README "Docker"). A hint then names a command that exists where it is read.
 */
import { isAbsolute, relative } from 'node:path';

/** `script` is the entry the process runs (`process.argv[1]`), `cwd` its working directory. */
export function toolCommand(tool: string, script: string | undefined, cwd: string): string {
  if (!script?.endsWith('.js')) return `pnpm ${tool}`;
  const path = relative(cwd, script);
  return `node ${path.startsWith('..') || isAbsolute(path) ? script : path}`;
}
