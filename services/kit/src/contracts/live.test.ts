import { describe, expect, it } from 'vitest';
import { LIVE_TOPICS } from '../events/live.ts';
import { publicDocument } from './document.ts';

describe('the LiveEvent component of the public document', () => {
  const document = publicDocument() as unknown as {
    paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }> } }>;
    components: { schemas: Record<string, { oneOf?: { properties: { event: { enum: string[] }; data: { $ref: string } } }[] }> };
  };

  it('is one message per public topic, plus delta, ready and resync, each with its data component', () => {
    const live = document.components.schemas.LiveEvent;
    const messages = (live?.oneOf ?? []).map((message) => [message.properties.event.enum[0], message.properties.data.$ref]);
    expect(messages.map(([event]) => event).sort()).toEqual([...LIVE_TOPICS, 'delta', 'ready', 'resync'].sort());
    expect(Object.fromEntries(messages)).toMatchObject({
      'runner.task.succeeded': '#/components/schemas/RunnerTaskSucceeded',
      delta: '#/components/schemas/TaskDelta',
      ready: '#/components/schemas/Ready',
      resync: '#/components/schemas/Resync',
    });
    expect(messages.map(([event]) => event)).not.toContain('runner.task.requested');
  });

  it('documents the event stream', () => {
    const stream = document.paths['/api/v1/events']?.get.responses['200']?.content['text/event-stream'];
    expect(stream?.schema.$ref).toBe('#/components/schemas/LiveEvent');
  });
});
