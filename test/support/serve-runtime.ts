/** A state server as `pink run` starts it: the command token beside the discovery file, then the discovery file. */
import path from 'node:path';
import {
  commandTokenPath,
  ensureCommandToken,
  readCommandToken,
} from '../../src/adapters/statebus/command-token.js';
import { writeDiscovery } from '../../src/adapters/statebus/discovery.js';
import { type StateServer, startStateServer } from '../../src/adapters/statebus/state-server.js';
import type { Namespace } from '../../src/domain/namespaces.js';
import type { StateBus } from '../../src/ports/state-bus.js';

export async function serveRuntime(bus: StateBus, varDir: string, ns: Namespace): Promise<StateServer> {
  const runDir = path.join(varDir, 'run');
  const tokenFile = commandTokenPath(runDir, ns);
  ensureCommandToken(tokenFile);
  const server = await startStateServer(bus, { ns, commandToken: () => readCommandToken(tokenFile) });
  await writeDiscovery(runDir, ns, {
    pid: process.pid,
    statePort: server.port,
    startedAt: new Date().toISOString(),
  });
  return server;
}
