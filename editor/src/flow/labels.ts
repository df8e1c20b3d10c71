/** Runner labels typed as `k=v, k2=v2`; blanks and entries without `=` are ignored. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [key, ...rest] = part.split('=');
    if (key.trim() && rest.length) out[key.trim()] = rest.join('=').trim();
  }
  return out;
}

export function labelsText(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
