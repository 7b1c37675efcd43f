export { createBus, type Bus, type BusOptions, type BusStatus, type Consumer } from './bus.ts';
export { DEFAULT_BUS_CONFIG, type BusConfig } from './config.ts';
export {
  defineEvent,
  EventPayloadError,
  TOPIC_PATTERN,
  type BusEvent,
  type EventContract,
  type EventHeaders,
  type EventOf,
  type PayloadOf,
  type PayloadInputOf,
} from './contract.ts';
export { envelope, publish, publishMany, type Envelope, type PublishOptions } from './publish.ts';
export type { ConsumeOptions, EventHandler, BatchHandler, HandlerContext, ConsumerStatus } from './consumer.ts';
export {
  BroadcastReader,
  PositionAheadError,
  PositionExpiredError,
  headPosition,
  positionStatus,
  type BroadcastOptions,
} from './broadcast.ts';
export { EphemeralStreams, EphemeralItemTooLargeError, NOTIFY_PAYLOAD_LIMIT } from './ephemeral.ts';
export { formatPosition, parsePosition, isPosition, InvalidPositionError, type Position } from './position.ts';
export { listDeadLetters, replay, skip, type DeadLetter, type DeadLetterPage } from './parked.ts';
export { dropGroup } from './cursors.ts';
export { runRetention, type RetentionResult } from './retention.ts';
export { PARTITIONS } from './outbox.ts';
export { uuidv7 } from './uuid.ts';
