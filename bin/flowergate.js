#!/usr/bin/env node
// The sources are TypeScript run directly by Node 24's type stripping (no build step). The compile
// cache keeps the stripped and compiled modules (NODE_COMPILE_CACHE, else the system temp dir), so
// later starts skip the TypeScript stripper entirely: ~20 MiB less memory and a faster start.
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/cli.ts');
