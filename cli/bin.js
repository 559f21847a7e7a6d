#!/usr/bin/env node
// `npx microbatch …`: npm puts the project's Node 24 (the `node` dev dependency) first on the PATH;
// tsx loads the TypeScript sources, as `npm start` does.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const { failureOutcome, runProcess } = await import('#local/entry-point.ts');
await runProcess(main, (error) => failureOutcome(error));
