#!/usr/bin/env node
// Runs the TypeScript sources directly (Node 24 strips types); the exit code is the command's.
import process from 'node:process';
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
