#!/usr/bin/env node
// The `flowcast` command: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
