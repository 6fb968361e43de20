#!/usr/bin/env node
// The sources are TypeScript run directly by Node 24's type stripping (no build step).
await import('../src/cli.ts');
