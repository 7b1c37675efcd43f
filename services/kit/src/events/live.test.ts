import { describe, expect, it } from 'vitest';
import type { EventContract } from '../bus/contract.ts';
import * as audit from './audit.ts';
import * as gateway from './gateway.ts';
import { isLiveTopic, liveTopicsFor, LIVE_TOPICS, topicsMatching } from './live.ts';
import * as prompt from './prompt.ts';
import * as registry from './registry.ts';
import * as runner from './runner.ts';
import * as workflow from './workflow.ts';

/** Every event contract kit defines. */
const contracts = [audit, gateway, prompt, registry, runner, workflow]
  .flatMap((module) => Object.values(module))
  .filter(
    (value): value is EventContract => typeof value === 'object' && value !== null && 'topic' in value && 'payload' in value,
  );

describe('the topics the public event stream shows', () => {
  it('are the task lifecycle (every runner.task.* contract but runner.task.requested), the workflow and the prompts, nothing else', () => {
    const live = contracts.map((contract) => contract.topic).filter(isLiveTopic);
    const expected = contracts
      .map((contract) => contract.topic)
      .filter(
        (topic) =>
          (topic.startsWith('runner.task.') && topic !== 'runner.task.requested') ||
          topic.startsWith('workflow.') ||
          topic.startsWith('prompt.'),
      );
    expect(live.sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThanOrEqual(7);
    expect(isLiveTopic('runner.task.requested')).toBe(false);
    expect(isLiveTopic('audit.change.recorded')).toBe(false);
  });

  it('are shown by scope: tasks:read the task lifecycle, workflow:read the workflow, prompts:read the prompts, admin all', () => {
    const tasks = LIVE_TOPICS.filter((topic) => topic.startsWith('runner.task.'));
    const posts = LIVE_TOPICS.filter((topic) => topic.startsWith('workflow.'));
    const prompts = LIVE_TOPICS.filter((topic) => topic.startsWith('prompt.'));
    expect(posts).toHaveLength(4);
    expect(prompts).toEqual(['prompt.part.published', 'prompt.template.published', 'prompt.label.moved']);
    expect(liveTopicsFor(['tasks:read'])).toEqual(tasks);
    expect(liveTopicsFor(['workflow:read'])).toEqual(posts);
    expect(liveTopicsFor(['prompts:read'])).toEqual(prompts);
    expect(liveTopicsFor(['admin'])).toEqual(LIVE_TOPICS);
    expect(liveTopicsFor(['registry:read', 'registry:write'])).toEqual([]);
  });

  it('are named by a topic or a prefix of some', () => {
    expect(topicsMatching('runner.task.succeeded')).toEqual(['runner.task.succeeded']);
    expect(topicsMatching('runner.')).toEqual(LIVE_TOPICS.filter((topic) => topic.startsWith('runner.')));
    expect(topicsMatching('runner.task.requested')).toEqual([]);
    expect(topicsMatching('registry.')).toEqual([]);
  });
});
