#!/usr/bin/env node
/**
 * Entry point of the `wsmesh` command (package.json `bin`): runs the command line and exits
 * with its code. See run.ts.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { processIo } from './io.js';
import { main } from './run.js';

const code = await main(process.argv.slice(2), processIo(), fileURLToPath(import.meta.url));
// Flush what was written, then end even if a library left a handle open.
process.stdout.write('', () => process.exit(code));
