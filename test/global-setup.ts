/**
 * Once per `npm test`: a real Hazelcast member on loopback for the tests that need one
 * (inject('hazelcast')). Under CI=true a member that cannot be had fails the run; elsewhere
 * those tests skip, and this says how to get one.
 */
import type { TestProject } from 'vitest/node';
import { memberUnavailable, startMember } from './support/hazelcast-member.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's member: `{ members: "127.0.0.1:PORT", clusterName }`, or why there is none. */
    hazelcast: { members: string; clusterName: string } | { unavailable: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const why = process.env.PINK_NO_HAZELCAST ? 'PINK_NO_HAZELCAST is set' : memberUnavailable();
  if (why) {
    if (process.env.CI === 'true') throw new Error(`CI needs a real Hazelcast member: ${why}`);
    process.stderr.write(
      `pink tests: no Hazelcast member (${why}); the member tests skip. Install Java 17 and Maven (apt-get install openjdk-17-jre-headless maven) and run npm test again.\n`,
    );
    project.provide('hazelcast', { unavailable: why });
    return async () => undefined;
  }
  const member = await startMember();
  project.provide('hazelcast', { members: member.address, clusterName: member.clusterName });
  return () => member.stop();
}
