#!/usr/bin/env node
// `npx microbatch …`: npm puts the project's Node 24 (the `node` dev dependency) first on the PATH;
// tsx loads the TypeScript sources, as `npm start` does.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
// Exit once stdout has flushed: piped --json output must arrive whole.
process.stdout.write('', () => process.exit(code));
