#!/usr/bin/env node
// lvsd command-line entry point: runs the compiled CLI (npm run build produces build/).
import { main } from '../build/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
