#!/usr/bin/env node
// Runs the TypeScript sources directly; tsx is a runtime dependency so no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
