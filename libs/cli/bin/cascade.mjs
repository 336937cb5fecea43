#!/usr/bin/env node
// The `cascade` executable: registers tsx in this process and runs src/main.ts, so the CLI
// ships as TypeScript sources like every workspace package (no build step) and signals
// reach it directly (no wrapper process in between).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
