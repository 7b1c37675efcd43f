import type { Schemas } from '../api/client.ts';

/** The most tasks one export holds; narrow the filters for more. */
export const EXPORT_LIMIT = 10_000;

const COLUMNS: [string, (task: Schemas['Task']) => unknown][] = [
  ['id', (task) => task.id],
  ['created_at', (task) => task.created_at],
  ['finished_at', (task) => task.finished_at],
  ['status', (task) => task.status],
  ['model_id', (task) => task.model_id],
  ['provider_id', (task) => task.provider_id],
  ['preset_id', (task) => task.preset_id],
  ['template_id', (task) => task.template?.id],
  ['template_version', (task) => task.template?.version],
  ['template_label', (task) => task.template?.label],
  ['group_id', (task) => task.group_id],
  ['retry_of', (task) => task.retry_of],
  ['attempts', (task) => task.attempt_count],
  ['input_tokens', (task) => task.usage?.input_tokens],
  ['output_tokens', (task) => task.usage?.output_tokens],
  ['cost_usd', (task) => task.cost_usd],
  ['time_to_first_token_ms', (task) => task.timing.time_to_first_token_ms],
  ['total_ms', (task) => task.timing.total_ms],
  ['error_kind', (task) => task.error?.kind],
  ['error_message', (task) => task.error?.message],
  ['output_text', (task) => task.output_text],
];

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading =+-@ is defused for spreadsheets. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && !/^-?\d/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(tasks: readonly Schemas['Task'][]): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const task of tasks) lines.push(COLUMNS.map(([, read]) => csvField(read(task))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
