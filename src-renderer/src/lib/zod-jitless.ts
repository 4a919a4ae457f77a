import { config } from 'zod';

// Zod compiles fast object parsers with `new Function()`, which `script-src 'self'` forbids
// (even its probe raises a CSP violation report). Object schemas decide this when they are
// created, so this module must be evaluated before any schema: main.ts imports it first.
config({ jitless: true });
