/** Checks a template's default model and preset through the registry's API (see registry-client.ts). */
export interface RegistryClient {
  checkDefaults(
    requestId: string,
    settings: { default_model_id: string | null; default_preset_id: string | null },
  ): Promise<void>;
}
