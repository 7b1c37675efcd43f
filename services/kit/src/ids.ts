/** Ids of public resources are UUIDv7, made in the app (ADR 0013). */
export { uuidv7 } from './bus/uuid.ts';
