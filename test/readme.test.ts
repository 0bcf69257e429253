/**
 * The README documents every setting: its configuration table is exactly what
 * `pink config docs` prints from the schema and CONFIG_DOCS, so neither can drift.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configDocsMarkdown } from '../src/cli/commands/config.js';
import { pink } from './support/cli.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('has the configuration table `pink config docs` prints', () => {
    const start = README.indexOf('| setting | environment variable |');
    expect(start).toBeGreaterThan(0);
    const table = README.slice(start, README.indexOf('\n\n', start));
    expect(table).toBe(configDocsMarkdown().trimEnd());
  });

  it('names every command `pink --help` lists', () => {
    const help = pink(['--help']).stdout;
    const commands = [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
      .map((m) => m[1] as string)
      .filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(10);
    for (const c of commands) expect(README, `pink ${c}`).toContain(`\`pink ${c}`);
  });
});
