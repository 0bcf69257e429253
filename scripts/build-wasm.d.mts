/** The module's bytes, base64, as dense.wat assembles today. */
export function assembleDense(): Promise<string>;
