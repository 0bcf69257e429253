/**
 * Dependencies point inward (README "Layout"): the pure core imports nothing outside
 * itself and no I/O module; ports and observability know no adapter; adapters know no
 * use case, command or screen. Read from the import statements of src/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

interface Import {
  readonly file: string;
  /** The top-level folder of src/ it reaches, or the package / node: module it names. */
  readonly target: string;
}

function importsOf(layer: string): Import[] {
  return sourceFiles(join(SRC, layer)).flatMap((path) => {
    const file = relative(SRC, path);
    const specifiers = [
      ...readFileSync(path, 'utf8').matchAll(/^\s*(?:import|export)[^'"]*?from\s+'([^']+)'/gm),
    ];
    return specifiers.map(([, spec = '']) => {
      if (!spec.startsWith('.')) return { file, target: spec };
      const resolved = relative(SRC, join(path, '..', spec));
      return { file, target: resolved.split('/')[0] ?? resolved };
    });
  });
}

/** Imports of `layer` outside `allowed` (folders of src/, packages, node: modules). */
function violations(layer: string, allowed: (target: string, file: string) => boolean): string[] {
  return importsOf(layer)
    .filter((i) => !allowed(i.target, i.file))
    .map((i) => `${i.file} -> ${i.target}`);
}

describe('architecture: dependencies point inward', () => {
  it('reads the imports it checks (the scan itself works)', () => {
    const app = importsOf('app');
    expect(app.some((i) => i.target === 'domain')).toBe(true);
    expect(app.some((i) => i.target === 'adapters')).toBe(true);
  });

  it('domain imports only domain, and no I/O module', () => {
    expect(violations('domain', (t) => t === 'domain')).toEqual([]);
  });

  it('execution imports only the domain (the trade story and kernel are pure)', () => {
    expect(violations('execution', (t) => t === 'execution' || t === 'domain')).toEqual([]);
  });

  it('strategy imports only the domain; hashing is its one node module, loading strategies its one I/O', () => {
    const ok = (t: string, file: string) =>
      t === 'strategy' ||
      t === 'domain' ||
      t === 'node:crypto' ||
      (file === 'strategy/loader.ts' && (t === 'node:path' || t === 'node:url'));
    expect(violations('strategy', ok)).toEqual([]);
  });

  it('ports and observability know no adapter, use case or command', () => {
    const outer = new Set(['adapters', 'app', 'cli', 'tui', 'reporting', 'bench']);
    expect(violations('ports', (t) => !outer.has(t))).toEqual([]);
    expect(violations('observability', (t) => !outer.has(t))).toEqual([]);
  });

  it('adapters know no use case, command or screen', () => {
    const outer = new Set(['app', 'cli', 'tui', 'reporting', 'bench']);
    expect(violations('adapters', (t) => !outer.has(t))).toEqual([]);
  });
});
