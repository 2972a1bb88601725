/**
 * Annotation templates: `{{name}}` is replaced by the group's label `name`, and by an
 * evaluation field (`{{value}}`, `{{level}}`, `{{threshold}}`) where the caller gives
 * one. An unknown name renders as empty, like Prometheus' missing label, so a typo shows
 * in the text instead of failing the notification.
 *
 * @example
 * renderTemplate("CPU high on {{host}}: {{value}}", { host: "web-1", value: "93.5" })
 * // "CPU high on web-1: 93.5"
 */
const PLACEHOLDER = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g;

export function renderTemplate(template: string, fields: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => Object.hasOwn(fields, name) ? fields[name] : "");
}

export function renderAnnotations(
  annotations: Readonly<Record<string, string>>,
  fields: Readonly<Record<string, string>>,
): Record<string, string> {
  const rendered: Record<string, string> = {};
  for (const [key, template] of Object.entries(annotations)) rendered[key] = renderTemplate(template, fields);
  return rendered;
}
