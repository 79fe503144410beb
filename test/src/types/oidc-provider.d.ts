// oidc-provider ships no types: the little of it the test provider uses (test/src/oidc-provider.ts).
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    listen(port: number, host: string, listening?: () => void): Server;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };
  export default Provider;
}
