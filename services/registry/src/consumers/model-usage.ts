import type { Bus } from '@llmops/kit/bus/index';
import { withTransaction, type Pool } from '@llmops/kit/db';
import { modelUsed } from '@llmops/kit/events/runner';
import * as models from '../db/models.ts';
import * as providers from '../db/providers.ts';

/** The consumer group that records use. */
export const USAGE_GROUP = 'registry.model-usage';

/**
 * Records that tasks used a model and its provider (runner.model.used), so deleting either archives it
 * instead. Idempotent: the latest use time wins, and a redelivered event changes nothing.
 */
export function consumeModelUse(bus: Bus, pool: Pool) {
  return bus.consume({
    group: USAGE_GROUP,
    events: [modelUsed],
    handler: async (event) => {
      const { provider_id, model_id, at } = event.payload;
      await withTransaction(pool, async (tx) => {
        await models.markUsed(tx, model_id, at);
        await providers.markUsed(tx, provider_id, at);
      });
    },
  });
}
