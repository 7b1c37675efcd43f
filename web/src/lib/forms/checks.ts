/**
 * The checks the browser makes before a form is sent, in plain words, from the constraints its inputs
 * carry (required, minlength, maxlength, type=email, a number's min, max and whole-number step) — the same ones the contract states (./limits.ts).
 * The server checks again; this only saves a round trip.
 */
export function checkInput(input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement): string | undefined {
  if (input.disabled || !input.name) return undefined;
  if (input instanceof HTMLInputElement && (input.type === 'checkbox' || input.type === 'radio')) return undefined;
  const value = input.value;
  if (input.required && value.trim() === '') return 'This is required.';
  if (value === '' || input instanceof HTMLSelectElement) return undefined;
  const min = Number(input.getAttribute('minlength') ?? 0);
  const max = Number(input.getAttribute('maxlength') ?? Infinity);
  if (value.length < min) return `Use at least ${min} characters (this has ${value.length}).`;
  if (value.length > max) return `Use at most ${max} characters (this has ${value.length}).`;
  if (input instanceof HTMLInputElement && input.type === 'number') {
    const number = Number(value);
    const low = input.getAttribute('min');
    const high = input.getAttribute('max');
    if (!Number.isFinite(number)) return 'Enter a number.';
    if ((low !== null && number < Number(low)) || (high !== null && number > Number(high))) {
      return low !== null && high !== null
        ? `Use a number from ${low} to ${high}.`
        : low !== null
          ? `Use a number of at least ${low}.`
          : `Use a number of at most ${high}.`;
    }
    if (input.step !== 'any' && input.step !== '' && Number.isInteger(Number(input.step)) && !Number.isInteger(number)) {
      return 'Use a whole number.';
    }
  }
  if (input instanceof HTMLInputElement && input.type === 'email' && !/^[^@\s]+@[^@\s]+$/.test(value.trim())) {
    return 'Enter an email address such as editor@example.com.';
  }
  return undefined;
}

/** Every problem of a form's inputs, by input name (the first per name). */
export function checkForm(form: HTMLFormElement): Record<string, string> {
  const found: Record<string, string> = {};
  for (const element of Array.from(form.elements)) {
    if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) {
      const message = checkInput(element);
      if (message) found[element.name] ??= message;
    }
  }
  return found;
}
