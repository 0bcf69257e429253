/**
 * Operator commands read from the namespace's command queue (`pink_runtime_commands`
 * for PINK), DESIGN.md §6. Each is JSON text validated here; anything else is refused
 * with a reason, never half-applied.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeJsonTextProblem, jsonTextProblem } from '../../adapters/files/scan-lines.js';

export const COMMAND_TYPES = ['SET_CAPITAL', 'CAPITAL_UPDATE', 'PAUSE', 'RESUME', 'FLATTEN'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
export type CapitalCommandType = Extract<CommandType, 'SET_CAPITAL' | 'CAPITAL_UPDATE'>;

export const MAX_CAPITAL = 1e12;

/** Far above any valid command (id <= 128, reason <= 500 characters): bigger items are refused unparsed. */
export const MAX_COMMAND_CHARS = 65_536;

const IssuedAt = z.union([
  z.iso.datetime({ offset: true }),
  z.number().int().min(0).max(8.64e15), // epoch milliseconds
]);

export const CommandSchema = z
  .object({
    id: z.string().min(1).max(128),
    type: z.enum(COMMAND_TYPES),
    amount: z.number().finite().gt(0).max(MAX_CAPITAL).optional(),
    reason: z.string().max(500).optional(),
    issued_at: IssuedAt.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const capital = c.type === 'SET_CAPITAL' || c.type === 'CAPITAL_UPDATE';
    if (capital && c.amount === undefined)
      ctx.addIssue({ code: 'custom', path: ['amount'], message: `required for ${c.type}` });
    if (!capital && c.amount !== undefined)
      ctx.addIssue({ code: 'custom', path: ['amount'], message: `not allowed for ${c.type}` });
  });

export type OperatorCommand = z.infer<typeof CommandSchema>;

/** DUPLICATE: the id was handled before and its first outcome is no longer kept; nothing applied. */
export type OutcomeStatus = 'APPLIED' | 'REFUSED' | 'DUPLICATE';

/** Written to `<stateMap>[command_outcome:<id>]` (TTL 1 h). */
export interface CommandOutcome {
  readonly id: string;
  readonly type: CommandType | null;
  readonly status: OutcomeStatus;
  readonly reason: string;
  /** Epoch ms when the runtime decided. */
  readonly ts: number;
  /**
   * itemDigest of the queue item this outcome answers: of two senders of one id at the same
   * time, the one whose text it is not learns its own item was the duplicate.
   */
  readonly item_digest?: string;
}

/** Written to `<stateMap>[<strategy>_capital_update_latest]` on every applied capital change. */
export interface CapitalUpdateMirror {
  readonly id: string;
  readonly type: CapitalCommandType;
  readonly amount: number;
  readonly reason: string;
  readonly issued_at: string | number | null;
  readonly applied_at: number;
}

export type ParsedCommand =
  | { readonly ok: true; readonly command: OperatorCommand }
  | {
      readonly ok: false;
      /** The command's own id when it had a usable one, else `unknown:<hash of the text>`. */
      readonly id: string;
      readonly type: CommandType | null;
      readonly reason: string;
    };

export function unknownCommandId(text: string): string {
  return `unknown:${itemDigest(text)}`;
}

/** First 16 hex digits of the sha256 of a queue item's text: which item an outcome answers. */
export function itemDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => {
      const field = i.path.length ? i.path.join('.') : '(command)';
      if (i.code === 'unrecognized_keys') {
        // Bounded: the reason is written back to the state map, whatever the command held.
        const shown = i.keys.slice(0, 5).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k));
        const more = i.keys.length > 5 ? ` and ${i.keys.length - 5} more` : '';
        return `unknown field(s) ${shown.join(', ')}${more}`;
      }
      return `${field}: ${i.message}`;
    })
    .join('; ');
}

/** Parses one queue item; never throws. */
export function parseCommand(text: string): ParsedCommand {
  if (text.length > MAX_COMMAND_CHARS)
    return {
      ok: false,
      id: unknownCommandId(text),
      type: null,
      reason: `command is ${text.length} characters, over the ${MAX_COMMAND_CHARS}-character limit (not parsed)`,
    };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      id: unknownCommandId(text),
      type: null,
      reason: `not JSON: ${(err as Error).message}`,
    };
  }
  // A key written twice is ambiguous (JSON.parse would silently keep the last value): refused.
  const twice = jsonTextProblem(text);
  const r = CommandSchema.safeParse(json);
  if (r.success && twice === null) return { ok: true, command: r.data };
  const obj =
    json !== null && typeof json === 'object' && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : {};
  const ambiguous = (key: string) =>
    twice?.kind === 'duplicate-key' && twice.path === '' && twice.key === key;
  const idOk = z.string().min(1).max(128).safeParse(obj.id);
  const typeOk = z.enum(COMMAND_TYPES).safeParse(obj.type);
  return {
    ok: false,
    id: idOk.success && !ambiguous('id') ? idOk.data : unknownCommandId(text),
    type: typeOk.success && !ambiguous('type') ? typeOk.data : null,
    reason: `invalid command: ${twice ? describeJsonTextProblem(twice) : describeIssues(r.error!)}`,
  };
}
