/**
 * The part of the WebAssembly JS API that dense.ts uses. Node has the API, but its type
 * declarations ship only with TypeScript's DOM library, which this project leaves out
 * (no browser globals in a server codebase).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
}
