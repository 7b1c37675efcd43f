import { getContext, setContext } from 'svelte';

/** What a Form tells the Fields inside it: the message for each field name, from the browser's checks or the API. */
export interface FormState {
  error(name: string): string | undefined;
}

const KEY = Symbol('form');

export function provideFormState(state: FormState): void {
  setContext(KEY, state);
}

export function formState(): FormState | undefined {
  return getContext<FormState | undefined>(KEY);
}
