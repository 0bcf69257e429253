/**
 * The journal's shape, checked on load: a field of the wrong type is refused with its
 * name, never traded on. Written by PINK itself, so a mismatch means a damaged or
 * hand-edited file; the message says how to start from the exchange's truth instead.
 */
import { z } from 'zod';

const num = z.number().finite();
const text = z.string();

const LiveOrderSchema = z
  .object({
    clientOrderId: text.min(1),
    exchangeOrderId: text,
    purpose: z.enum(['ENTRY', 'EXIT']),
    qty: num.nonnegative(),
    filledQty: num.nonnegative(),
    notional: num,
    realized: num,
    reason: text,
    leg: z.number().int(),
    attempt: z.number().int().nonnegative(),
    submittedAt: num,
    referencePrice: num,
    final: z.boolean(),
    lookupAt: num.nullable(),
    doneFilledQty: num.nullable(),
    cancelRequested: z.boolean(),
  })
  .passthrough();

const TradeSchema = z
  .object({
    id: text.min(1),
    asset: text.min(1),
    side: z.enum(['LONG', 'SHORT']),
    leverage: num,
    entryTs: num,
    legCount: z.number().int().nonnegative(),
    stage: text.min(1),
    initialQty: num.nonnegative(),
    remainingQty: num.nonnegative(),
    entryNotional: num,
    exitNotional: num,
    exitQty: num,
    realized: num,
    fees: num,
    funding: num,
    barsHeld: z.number().int().nonnegative(),
    order: LiveOrderSchema.nullable(),
    queue: z.array(z.unknown()),
  })
  .passthrough();

const AccountSchema = z
  .object({
    initial: num.positive(),
    realized: num,
    fees: num,
    funding: num,
    adjustments: num,
    pinnedCapital: num.optional(),
    qty: num,
    avgEntry: num,
    mark: num,
    ts: num,
  })
  .strict();

export const JournalSchema = z
  .object({
    version: z.literal(1),
    namespace: text.min(1),
    strategyName: text.min(1),
    savedAt: num,
    lastScan: num.nullable(),
    chainHash: text,
    strategyState: z.unknown(),
    trade: TradeSchema.nullable(),
    account: AccountSchema,
    venuePositions: z.array(z.tuple([text.min(1), num])),
    seenFacts: z.array(text).optional(),
    paused: z.boolean().optional(),
    commands: z.array(z.tuple([text.min(1), text.min(1)])).optional(),
    flattenRequested: text.optional(),
  })
  .strict();

export const IntentSchema = z
  .object({
    clientOrderId: text.min(1),
    tradeId: text.min(1),
    asset: text.min(1),
    purpose: z.enum(['ENTRY', 'EXIT']),
    side: z.enum(['BUY', 'SELL']),
    qty: num.positive(),
    reason: text,
    leg: z.number().int(),
    attempt: z.number().int().nonnegative(),
    final: z.boolean(),
    referencePrice: num,
    ts: num,
  })
  .strict();

/** The first problem as `field "a.b": message`, or null when the value fits. */
export function schemaProblem(schema: z.ZodType, value: unknown): string | null {
  const r = schema.safeParse(value);
  if (r.success) return null;
  const issue = r.error.issues[0]!;
  return `field "${issue.path.join('.') || '(root)'}": ${issue.message}`;
}
