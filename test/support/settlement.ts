/**
 * The journal half of RuntimeControl for test runtimes: settle() keeps [id, outcome] as the
 * runtime's journal checkpoint would, settled() gives them back (as after a restart).
 */
export class InMemorySettlement {
  readonly journal: Array<[string, string]> = [];
  async settle(commandId: string, outcome: string): Promise<string | undefined> {
    this.journal.push([commandId, outcome]);
    return undefined;
  }
  settled(): ReadonlyArray<readonly [string, string]> {
    return this.journal;
  }
}
