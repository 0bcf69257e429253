/**
 * The running namespace and its configuration, loaded together: a config file naming
 * another registered strategy is refused, never silently run as this namespace.
 */
import { loadConfig, type PinkConfig } from '../app/config.js';
import { type Namespace, resolveNamespace } from '../domain/namespaces.js';
import { CliError } from './errors.js';

export function loadNamespaceConfig(o: {
  file?: string;
  overrides?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}): { ns: Namespace; cfg: PinkConfig } {
  const env = o.env ?? process.env;
  const ns = resolveNamespace(env);
  const cfg = loadConfig({ file: o.file, env, overrides: o.overrides });
  if (cfg.strategy !== ns.strategy)
    throw new CliError(
      `config strategy "${cfg.strategy}" differs from the namespace "${ns.strategy}" (DOLPHIN_STRATEGY_NAME)`,
    );
  return { ns, cfg };
}
