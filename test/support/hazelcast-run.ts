/** The run's Hazelcast member (test/global-setup.ts) for a test file: its settings, or why there is none. */
import { inject } from 'vitest';

export function runMember(): { members: string[]; clusterName: string } | null {
  const hz = inject('hazelcast');
  return 'members' in hz ? { members: [hz.members], clusterName: hz.clusterName } : null;
}

export function whyNoMember(): string {
  const hz = inject('hazelcast');
  return 'unavailable' in hz ? hz.unavailable : '';
}
