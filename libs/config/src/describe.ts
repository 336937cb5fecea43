// Renders a schema as a markdown table for service READMEs and operator docs.
import type { Spec } from './spec.js';

/** A pipe inside a cell would split it; newlines would end the table row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return text === '' ? '`""`' : `\`${cell(text)}\``;
}

function defaultCell(spec: Spec<unknown>): string {
  if (spec.defaultText !== undefined) return code(spec.defaultText);
  return spec.optional ? '*(unset)*' : '**required**';
}

export function describeConfig(schema: Record<string, Spec<unknown>>): string {
  const rows = Object.values(schema).map(
    (spec) => `| ${code(spec.env)} | ${defaultCell(spec)} | ${cell(spec.describe)} |`,
  );
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n') + '\n';
}
