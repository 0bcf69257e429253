/** The module's bytes, base64, as matvec.wat assembles today. */
export function assembleMatvec(): Promise<string>;
