/**
 * Which process-manager programs and systemd units belong to a namespace. `pink ctl
 * start|stop|restart` may only ever act on these (spec §6.4: "must not invoke BLUE
 * program names"); everything else is refused before any process is started.
 * Pure: the names are computed from the namespace's strategy name.
 */
import { NAMESPACE_REGISTRY, type Namespace } from '../../domain/namespaces.js';

export class ProgramRefused extends Error {
  override name = 'ProgramRefused';
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The fixed names the deploy/ files define for a strategy (shown in refusals). */
export function ownProgramNames(ns: Namespace): string[] {
  const s = ns.strategy;
  return [
    s,
    `${s}-worker`,
    `${s}-worker.service`,
    `datastack-${s}*`,
    `clickhouse-${s}[.service]`,
    `hazelcast-${s}[.service]`,
  ];
}

/** Name patterns of a strategy: supervisord program, Quadlet units and the generated services. */
function ownPatterns(strategy: string): RegExp[] {
  const s = escapeRegExp(strategy);
  return [
    new RegExp(`^${s}$`),
    new RegExp(`^${s}-worker(\\.service)?$`),
    // datastack-pink, datastack-pink-pod.service, datastack-pink.pod, …
    new RegExp(`^datastack-${s}([-.][A-Za-z0-9_.@-]*)?$`),
    new RegExp(`^(clickhouse|hazelcast)-${s}(\\.service)?$`),
  ];
}

/** A strategy name standing alone in `name` (not as a piece of a longer strategy name). */
function mentionsStrategy(name: string, strategy: string): boolean {
  return new RegExp(`(^|[^a-z0-9])${escapeRegExp(strategy)}([^a-z0-9]|$)`, 'i').test(name);
}

/** The other registered strategy a name points at, if any (for a clearer refusal). */
function foreignOwner(name: string, ns: Namespace): string | undefined {
  for (const other of NAMESPACE_REGISTRY.keys()) {
    if (other === ns.strategy) continue;
    if (mentionsStrategy(name, other) || ownPatterns(other).some((p) => p.test(name))) return other;
  }
  return undefined;
}

/** Throws ProgramRefused unless `program` is one of this namespace's programs or units. */
export function assertOwnProgram(program: string, ns: Namespace): void {
  const name = program.trim();
  if (name !== program || name === '')
    throw new ProgramRefused(`program name ${JSON.stringify(program)} is empty or has surrounding spaces`);
  if (ownPatterns(ns.strategy).some((p) => p.test(name))) return;
  const allowed = ownProgramNames(ns).join(', ');
  const owner = foreignOwner(name, ns);
  const why = owner
    ? `it belongs to strategy "${owner}"`
    : name === 'all'
      ? '"all" would act on every program of the process manager'
      : `it is not a program of strategy "${ns.strategy}"`;
  throw new ProgramRefused(
    `refusing to act on "${name}": ${why}; PINK operates only its own programs (${allowed})`,
  );
}
