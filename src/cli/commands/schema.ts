/** `pink schema apply [--dry-run] [--config FILE]`: create or upgrade the ClickHouse schema. */
import type { Command } from 'commander';
import { createClickHouseClient, ledgerDatabase } from '../../adapters/clickhouse/client.js';
import { applySchema, formatSchemaReport, loadSchemaFiles } from '../../adapters/clickhouse/schema.js';
import { WriteGuard } from '../../domain/namespaces.js';
import { action, EXIT } from '../errors.js';
import { runningNamespace } from '../running-namespace.js';

interface SchemaApplyOptions {
  dryRun?: boolean;
  config?: string;
}

export async function schemaApplyCommand(o: SchemaApplyOptions): Promise<number> {
  const { ns, cfg } = runningNamespace({ use: 'act', file: o.config });
  const db = ledgerDatabase(cfg.clickhouse, ns);
  const schema = loadSchemaFiles();
  const guard = new WriteGuard(ns, (refusal) => process.stderr.write(`pink: ALERT ${refusal.message}\n`));
  const handle = await createClickHouseClient(cfg.clickhouse);
  try {
    process.stdout.write(`ClickHouse: ${handle.describe}\n`);
    const report = await applySchema(handle.client, db, guard, { dryRun: o.dryRun ?? false, schema });
    process.stdout.write(`${formatSchemaReport(report)}\n`);
    return EXIT.OK;
  } finally {
    await handle.client.close();
  }
}

export function register(program: Command): void {
  const schema = program.command('schema').description('ClickHouse schema of the running namespace');
  schema
    .command('apply')
    .description('create missing tables and add missing columns, idempotently (never drops anything)')
    .option('--dry-run', 'report what would change without changing anything')
    .option('--config <file>', 'configuration file (JSON)')
    .addHelpText(
      'after',
      '\nUses CLICKHOUSE_URL (server) or the embedded chDB under PINK_CLICKHOUSE_DIR (default ./var/clickhouse);\n' +
        'the database is the namespace of DOLPHIN_STRATEGY_NAME (default pink: dolphin_pink).',
    )
    .action(action((opts: SchemaApplyOptions) => schemaApplyCommand(opts)));
}
