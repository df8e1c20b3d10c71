/** Text <-> value for JSON fields. Strict fields need JSON; lenient ones take other text as a string. */
export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

export function parseStrict(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: `Not valid JSON yet: ${(error as Error).message}` };
  }
}

export function parseLenient(text: string): Parsed {
  const strict = parseStrict(text);
  return strict.ok ? strict : { ok: true, value: text };
}

export function showStrict(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

/** A string is shown bare (a template reads naturally) unless bare text would parse as JSON. */
export function showLenient(value: unknown): string {
  if (typeof value === 'string' && !parseStrict(value).ok) return value;
  return showStrict(value);
}
