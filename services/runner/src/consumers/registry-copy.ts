import type { Bus } from '@llmops/kit/bus/index';
import { withTransaction, type Pool } from '@llmops/kit/db';
import { modelChanged, presetChanged, providerChanged } from '@llmops/kit/events/registry';
import * as copy from '../db/registry-copy.ts';

export const COPY_GROUP = 'runner.registry-copy';

/** Keeps the copy current from registry events (a durable consumer group: one instance applies each). */
export function consumeRegistryChanges(bus: Bus, pool: Pool) {
  return bus.consume({
    group: COPY_GROUP,
    events: [providerChanged, modelChanged, presetChanged],
    handler: async (event) => {
      await withTransaction(pool, async (tx) => {
        switch (event.topic) {
          case 'registry.provider.changed':
            if (event.payload.provider) await copy.applyProvider(tx, event.payload.provider);
            else await copy.markDeleted(tx, 'provider', event.payload.provider_id);
            return;
          case 'registry.model.changed':
            if (event.payload.model) await copy.applyModel(tx, event.payload.model);
            else await copy.markDeleted(tx, 'model', event.payload.model_id);
            return;
          case 'registry.preset.changed':
            if (event.payload.preset) await copy.applyPreset(tx, event.payload.preset);
            else await copy.markDeleted(tx, 'preset', event.payload.preset_id);
            return;
        }
      });
    },
  });
}
