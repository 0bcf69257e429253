/**
 * The namespace registry (DESIGN.md §3): one explicit map from strategy name to every
 * ClickHouse database and Hazelcast surface it owns. No prefix routing, no fallback.
 * Every sink asks the write guard before writing anything.
 */

export interface Namespace {
  readonly strategy: string;
  readonly clickhouseDb: string;
  readonly stateMap: string;
  readonly pnlMap: string;
  readonly commandQueue: string;
  readonly capitalMirrorKey: string;
  readonly adaptiveExitDb: string;
  readonly v7JournalDb: string;
  readonly traderId: string;
}

function entry(strategy: string, db: string, upper: string): Namespace {
  return {
    strategy,
    clickhouseDb: db,
    stateMap: `DOLPHIN_STATE_${upper}`,
    pnlMap: `DOLPHIN_PNL_${upper}`,
    commandQueue: `${strategy}_runtime_commands`,
    capitalMirrorKey: `${strategy}_capital_update_latest`,
    adaptiveExitDb: db,
    v7JournalDb: db,
    traderId: `DOLPHIN-${upper}-001`,
  };
}

/** The four registered strategies. This is the only place these names may appear. */
export const NAMESPACE_REGISTRY: ReadonlyMap<string, Namespace> = new Map([
  ['blue', entry('blue', 'dolphin', 'BLUE')],
  ['green', entry('green', 'dolphin_green', 'GREEN')],
  ['prodgreen', entry('prodgreen', 'dolphin_prodgreen', 'PRODGREEN')],
  ['pink', entry('pink', 'dolphin_pink', 'PINK')],
]);

/** Shared maps every strategy may read and none may write. */
export const SHARED_READ_ONLY_MAPS: readonly string[] = [
  'DOLPHIN_FEATURES',
  'DOLPHIN_SAFETY',
  'DOLPHIN_HEARTBEAT',
];

export const DEFAULT_STRATEGY = 'pink';

/** The production system PINK must decide like: `pink parity --blue-clickhouse` reads its decisions (read-only). */
export const PARITY_REFERENCE_STRATEGY = 'blue';

export class NamespaceError extends Error {
  override name = 'NamespaceError';
}

/** Looks a strategy up; unknown names and new `prod*` names are refused, never defaulted. */
export function lookupNamespace(strategy: string): Namespace {
  const ns = NAMESPACE_REGISTRY.get(strategy);
  if (ns) return ns;
  if (strategy.toLowerCase().startsWith('prod')) {
    throw new NamespaceError(
      `strategy "${strategy}" refused: new namespaces starting with "prod" are not allowed (registered: ${[...NAMESPACE_REGISTRY.keys()].join(', ')})`,
    );
  }
  throw new NamespaceError(
    `unknown strategy "${strategy}" (registered: ${[...NAMESPACE_REGISTRY.keys()].join(', ')})`,
  );
}

/** Environment overrides of DESIGN.md §3; each must agree with the registry entry. */
export const NAMESPACE_ENV_VARS = [
  'DOLPHIN_STRATEGY_NAME',
  'DOLPHIN_STATE_MAP',
  'DOLPHIN_PNL_MAP',
  'DOLPHIN_ADAPTIVE_EXIT_DB',
  'DOLPHIN_V7_JOURNAL_DB',
] as const;

/**
 * Resolves the running namespace from the environment. The overrides exist for
 * BLUE-era launchers that pass them explicitly; a value that points at another
 * strategy's surface is refused with the variable's name.
 */
export function resolveNamespace(env: Readonly<Record<string, string | undefined>>): Namespace {
  const strategy = env.DOLPHIN_STRATEGY_NAME?.trim() || DEFAULT_STRATEGY;
  const ns = lookupNamespace(strategy);
  const checks: [string, string][] = [
    ['DOLPHIN_STATE_MAP', ns.stateMap],
    ['DOLPHIN_PNL_MAP', ns.pnlMap],
    ['DOLPHIN_ADAPTIVE_EXIT_DB', ns.adaptiveExitDb],
    ['DOLPHIN_V7_JOURNAL_DB', ns.v7JournalDb],
  ];
  for (const [name, expected] of checks) {
    const value = env[name];
    if (value !== undefined && value !== '' && value !== expected) {
      throw new NamespaceError(
        `${name}="${value}" does not belong to strategy "${strategy}" (expected "${expected}")`,
      );
    }
  }
  return ns;
}

export type WriteTarget =
  | { readonly kind: 'clickhouse'; readonly database: string; readonly table: string }
  | { readonly kind: 'map'; readonly map: string; readonly key: string }
  | { readonly kind: 'queue'; readonly queue: string };

export function describeTarget(t: WriteTarget): string {
  switch (t.kind) {
    case 'clickhouse':
      return `clickhouse ${t.database}.${t.table}`;
    case 'map':
      return `map ${t.map}[${t.key}]`;
    case 'queue':
      return `queue ${t.queue}`;
  }
}

export class WriteRefused extends Error {
  override name = 'WriteRefused';
  constructor(
    readonly target: WriteTarget,
    readonly strategy: string,
  ) {
    super(`write to ${describeTarget(target)} refused: outside namespace "${strategy}"`);
  }
}

/** Called when the guard refuses a write, so the refusal is an alert, not just an exception. */
export type GuardAlert = (refusal: WriteRefused) => void;

/**
 * The one write guard. A map write is allowed to the strategy's state and pnl maps;
 * the capital mirror key lives in the state map. Queue writes are allowed to the
 * strategy's command queue (operators' `pink ctl` offers commands there).
 */
export class WriteGuard {
  constructor(
    readonly ns: Namespace,
    private readonly alert: GuardAlert = () => {},
  ) {}

  allows(target: WriteTarget): boolean {
    switch (target.kind) {
      case 'clickhouse':
        return target.database === this.ns.clickhouseDb;
      case 'map':
        return target.map === this.ns.stateMap || target.map === this.ns.pnlMap;
      case 'queue':
        return target.queue === this.ns.commandQueue;
    }
  }

  /** Throws WriteRefused (after alerting) unless the target is inside the namespace. */
  check(target: WriteTarget): void {
    if (this.allows(target)) return;
    const refusal = new WriteRefused(target, this.ns.strategy);
    this.alert(refusal);
    throw refusal;
  }
}
