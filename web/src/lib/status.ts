/** One readiness check of the gateway, as /readyz reports it. */
export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

/** What the overview shows about the system: the gateway's /readyz answer, or why there was none. */
export type SystemStatus =
  | { kind: 'answered'; ready: boolean; checks: Check[]; checkedAt: string }
  | { kind: 'unreachable'; reason: string; checkedAt: string }
  | { kind: 'unexpected'; httpStatus: number; checkedAt: string };
