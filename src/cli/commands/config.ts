/** `pink config show|docs`: the effective configuration (secrets redacted) and every setting's documentation. */

import type { Command } from 'commander';
import { CONFIG_DOCS, ConfigSchema } from '../../app/config.js';
import { action, EXIT } from '../errors.js';
import { runningNamespace } from '../running-namespace.js';

const SECRET_KEYS = /password|secret|apikey|api_key|token/i;

function redactDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        SECRET_KEYS.test(k) && v !== undefined
          ? '[redacted]'
          : typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(v)
            ? v.replace(/\/\/[^/]*@/, '//[redacted]@') // user info of a URL (CLICKHOUSE_URL)
            : redactDeep(v),
      ]),
    );
  return value;
}

function defaultOf(path: string): string {
  const defaults = ConfigSchema.parse({}) as Record<string, unknown>;
  let v: unknown = defaults;
  for (const part of path.split('.'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v === undefined ? '(unset)' : JSON.stringify(v);
}

/** The settings table (also pasted into the README). */
export function configDocsMarkdown(): string {
  const rows = Object.entries(CONFIG_DOCS).map(
    ([key, [env, meaning]]) => `| \`${key}\` | \`${env}\` | \`${defaultOf(key)}\` | ${meaning} |`,
  );
  return ['| setting | environment variable | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('show the effective configuration, or document every setting');
  config
    .command('show')
    .description('print the effective configuration (file + environment), secrets redacted')
    .option('--config <file>', 'configuration file (JSON)')
    .action(
      action(async (o: { config?: string }) => {
        const { cfg } = runningNamespace({ use: 'read', file: o.config });
        process.stdout.write(`${JSON.stringify(redactDeep(cfg), null, 2)}\n`);
        return EXIT.OK;
      }),
    );
  config
    .command('docs')
    .description('print every setting with its environment variable and default (Markdown)')
    .action(
      action(async () => {
        process.stdout.write(`${configDocsMarkdown()}\n`);
        return EXIT.OK;
      }),
    );
}
