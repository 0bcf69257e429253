/**
 * The ways into PINK, kept in one place so that every guarantee is attacked from each
 * of them the same way (issue #16). A guarantee's attack suite names, for every entry
 * point here, the test that attacks it or why the entry point cannot carry the attack.
 */

export const ENTRY_POINTS = [
  'environment',
  'config file',
  'flags',
  'ctl',
  'state server HTTP',
  'journal',
  'spool',
  'exchange payloads',
] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

/** Every command that writes, commands, supervises or verifies: each runs only as PINK. */
export const ACTING_COMMANDS: readonly (readonly string[])[] = [
  ['run', '--scans', '1'],
  ['replay', '--data', '{{SCANS}}'],
  ['demo'],
  ['parity', '--data', '{{SCANS}}'],
  ['simtest', '--seeds', '1', '--scans', '10'],
  ['soak', '--hours', '0.001'],
  ['schema', 'apply'],
  ['ctl', 'mode-verify'],
  ['ctl', 'status'],
  ['ctl', 'healthcheck'],
  ['ctl', 'start'],
  ['ctl', 'stop'],
  ['ctl', 'restart'],
  ['ctl', 'pause'],
  ['ctl', 'resume'],
  ['ctl', 'flatten'],
  ['ctl', 'set-capital', '1000'],
  ['ctl', 'send', '{"type":"PAUSE","id":"attack-1"}'],
];

/** The strategies PINK must never be: every registered namespace but its own. */
export const FOREIGN_STRATEGIES = ['blue', 'green', 'prodgreen'] as const;
