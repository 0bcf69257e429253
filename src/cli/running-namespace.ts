/**
 * The one place that decides the running namespace. Every command takes its namespace
 * and configuration from here, so the rule holds whichever way the strategy arrives
 * (flag, environment, config file): a command that writes, commands, supervises or
 * verifies runs only as PINK; the registry's other namespaces are PINK's to read, never
 * to be. Checked before anything is opened.
 */
import { loadConfig, type PinkConfig, readConfigFile } from '../app/config.js';
import {
  DEFAULT_STRATEGY,
  lookupNamespace,
  type Namespace,
  NamespaceError,
  resolveNamespace,
} from '../domain/namespaces.js';
import { CliError } from './errors.js';

/** `act`: writes, commands, supervises or verifies (PINK only). `read`: read-only analytics (any registered strategy). */
export type NamespaceUse = 'act' | 'read';

interface Named {
  readonly value: string;
  readonly from: string;
}

/** Every source that names a strategy, in precedence order (flag, environment, file). */
function strategySources(o: RunningNamespaceOptions, env: NodeJS.ProcessEnv): Named[] {
  const out: Named[] = [];
  if (o.flag !== undefined) out.push({ value: o.flag.value, from: `flag ${o.flag.name}` });
  const fromEnv = env.DOLPHIN_STRATEGY_NAME?.trim();
  if (fromEnv) out.push({ value: fromEnv, from: 'DOLPHIN_STRATEGY_NAME (environment)' });
  if (o.file) {
    const inFile = readConfigFile(o.file).strategy;
    if (inFile !== undefined) {
      if (typeof inFile !== 'string' || inFile.trim() === '')
        throw new CliError(`config file ${o.file}: strategy must be a non-empty string`);
      out.push({ value: inFile, from: `config file ${o.file} ("strategy")` });
    }
  }
  return out;
}

function refuseForeign(s: Named): never {
  let owner: string;
  try {
    const ns = lookupNamespace(s.value);
    owner = `${s.value.toUpperCase()}'s namespace (${ns.clickhouseDb}, ${ns.stateMap}, ${ns.commandQueue})`;
  } catch (err) {
    throw new CliError(`${s.from}: ${(err as Error).message}`);
  }
  throw new CliError(
    `${s.from} names strategy "${s.value}", ${owner}: PINK runs only as "${DEFAULT_STRATEGY}" and may only read other namespaces (unset it or set it to ${DEFAULT_STRATEGY})`,
  );
}

export interface RunningNamespaceOptions {
  readonly use: NamespaceUse;
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** A command-line flag naming the strategy, e.g. `{ name: '--strategy', value: 'pink' }`. */
  readonly flag?: { readonly name: string; readonly value: string };
  readonly overrides?: Record<string, unknown>;
}

/**
 * Decides the namespace and loads the configuration with it. Sources that disagree are
 * refused (naming both); for `act`, any source naming a strategy other than PINK is
 * refused (naming the source), and so are namespace overrides pointing elsewhere.
 */
export function runningNamespace(o: RunningNamespaceOptions): { ns: Namespace; cfg: PinkConfig } {
  const env = o.env ?? process.env;
  const sources = strategySources(o, env);
  for (const s of sources) if (o.use === 'act' && s.value !== DEFAULT_STRATEGY) refuseForeign(s);
  const chosen = sources[0];
  const clash = sources.find((s) => s.value !== chosen?.value);
  if (chosen && clash)
    throw new CliError(
      `${chosen.from} names strategy "${chosen.value}" but ${clash.from} names "${clash.value}": one namespace per command`,
    );
  const strategy = chosen?.value ?? DEFAULT_STRATEGY;
  let ns: Namespace;
  try {
    ns = resolveNamespace({ ...env, DOLPHIN_STRATEGY_NAME: strategy });
  } catch (err) {
    if (err instanceof NamespaceError)
      throw new CliError(chosen ? `${chosen.from}: ${err.message}` : err.message);
    throw err;
  }
  const cfg = loadConfig({ file: o.file, env, overrides: { ...o.overrides, strategy } });
  return { ns, cfg };
}
