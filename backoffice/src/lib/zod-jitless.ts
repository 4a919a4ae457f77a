import { config } from 'zod';

// Zod compiles fast object parsers with `new Function()`, which `script-src 'self'` forbids.
// Object schemas decide this when they are created, so this module must be evaluated before
// any schema of the contract: main.ts imports it first.
config({ jitless: true });
