/** Ids of public resources are UUIDv7, made in the app (DESIGN D9). */
export { uuidv7 } from './bus/uuid.ts';
