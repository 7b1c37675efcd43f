import type { TestProject } from 'vitest/node';
import { startTestCluster } from '@llmops/kit/testing/database';
import '@llmops/kit/testing/provided';

/** One PostgreSQL server and one template database for the whole run; see services/kit/src/testing. */
export default async function setup(project: TestProject) {
  const cluster = await startTestCluster();
  project.provide('pgAdminUrl', cluster.adminUrl);
  project.provide('pgTemplate', cluster.template);
  return async () => {
    await cluster.stop();
  };
}
