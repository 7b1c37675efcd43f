/** A model the emulator offers. */
export interface EmulatorModel {
  id: string;
  modality: 'chat' | 'image';
  /** Unix seconds. */
  created: number;
  displayName: string;
}

export interface EmulatorModels {
  openai: EmulatorModel[];
  anthropic: EmulatorModel[];
  ollama: EmulatorModel[];
}

const CREATED = 1_735_689_600; // 2025-01-01T00:00:00Z: fixed, so listings are deterministic

/** A model to offer; its id decides which of the provider's rules apply (`emu-gpt-5-mini` follows gpt-5-mini's). */
export const emulatorModel = (id: string, modality: EmulatorModel['modality'] = 'chat'): EmulatorModel => ({
  id,
  modality,
  created: CREATED,
  // Wherever a listing shows it (Anthropic's display names, an import), it says it is not a real model.
  displayName: `${id} (local emulator stand-in)`,
});

/** What each emulated provider offers unless a test says otherwise. Names say they are emulated. */
export const DEFAULT_MODELS: EmulatorModels = {
  openai: [emulatorModel('emu-gpt-small'), emulatorModel('emu-gpt-large'), emulatorModel('emu-image', 'image')],
  anthropic: [emulatorModel('emu-claude-fast'), emulatorModel('emu-claude-deep')],
  ollama: [emulatorModel('emu-llama:latest'), emulatorModel('emu-qwen:7b')],
};
