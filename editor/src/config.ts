/** Runtime settings, read from `config.json` next to index.html (so one build fits any API). */
export interface EditorConfig {
  /** Base URL of the API; empty means the origin that served the editor. */
  apiBaseUrl: string;
  /** Where node types' documentation paths (`docs/...`) are read; empty: the default repository. */
  docsBaseUrl?: string;
}

export async function loadConfig(): Promise<EditorConfig> {
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    if (!response.ok) return { apiBaseUrl: '' };
    const parsed = (await response.json()) as Partial<EditorConfig>;
    return {
      apiBaseUrl: typeof parsed.apiBaseUrl === 'string' ? parsed.apiBaseUrl : '',
      docsBaseUrl: typeof parsed.docsBaseUrl === 'string' ? parsed.docsBaseUrl : undefined,
    };
  } catch {
    return { apiBaseUrl: '' };
  }
}

/** The origin the API is reached at, for webhook URLs and runner commands. */
export function apiOrigin(config: EditorConfig): string {
  if (!config.apiBaseUrl) return window.location.origin;
  try {
    return new URL(config.apiBaseUrl, window.location.href).toString().replace(/\/+$/, '');
  } catch {
    return window.location.origin;
  }
}
