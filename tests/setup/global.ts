import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestCluster } from '@llmops/kit/testing/database';
import '@llmops/kit/testing/provided';

/**
 * One PostgreSQL server and one template database for the whole run; see services/kit/src/testing.
 * Every project that names this file runs it (integration, browser), each with a module of its own,
 * so the server is kept on the process: the first setup starts it, the others join, the last teardown
 * stops it.
 */
interface Shared {
  cluster: Promise<TestCluster>;
  users: number;
}
const KEY = Symbol.for('llmops.testCluster');
const holder = globalThis as { [KEY]?: Shared };

export default async function setup(project: TestProject) {
  const shared = (holder[KEY] ??= { cluster: startTestCluster(), users: 0 });
  shared.users += 1;
  const cluster = await shared.cluster;
  project.provide('pgAdminUrl', cluster.adminUrl);
  project.provide('pgTemplate', cluster.template);
  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    delete holder[KEY];
    await cluster.stop();
  };
}
