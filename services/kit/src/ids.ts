/** Ids of public resources are UUIDv7, made in the app (ADR 0013). */
export { uuidv7, uuidv7At } from './bus/uuid.ts';
