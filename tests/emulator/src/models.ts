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

const model = (id: string, modality: EmulatorModel['modality'] = 'chat'): EmulatorModel => ({
  id,
  modality,
  created: CREATED,
  displayName: id.replace(/[-_:]/g, ' '),
});

/** What each emulated provider offers unless a test says otherwise. Names say they are emulated. */
export const DEFAULT_MODELS: EmulatorModels = {
  openai: [model('emu-gpt-small'), model('emu-gpt-large'), model('emu-image', 'image')],
  anthropic: [model('emu-claude-fast'), model('emu-claude-deep')],
  ollama: [model('emu-llama:latest'), model('emu-qwen:7b')],
};
