import type { NodeType } from '../api/models';

/** Glyphs for icon names the API may send, and for the built-in types as a fallback. */
const GLYPHS: Record<string, string> = {
  start: '▶',
  play: '▶',
  set: '✎',
  edit: '✎',
  pencil: '✎',
  condition: '◇',
  branch: '◇',
  'git-branch': '◇',
  switch: '⇶',
  route: '⇶',
  foreach: '↻',
  repeat: '↻',
  loop: '↻',
  merge: '⋈',
  'git-merge': '⋈',
  delay: '◴',
  clock: '◴',
  timer: '◴',
  fail: '✖',
  x: '✖',
  'alert-triangle': '⚠',
  return: '⏎',
  'corner-down-left': '⏎',
  log: '☰',
  'file-text': '☰',
  list: '☰',
  http: '⇄',
  globe: '⇄',
  python: 'Py',
  code: '</>',
  shell: '$',
  terminal: '$',
  subflow: '▣',
  layers: '▣',
  workflow: '▣',
  on_error: '⚠',
  'shield-alert': '⚠',
  bug: '⚠',
  braces: '{}',
  'list-tree': '⇶',
  'x-octagon': '✖',
  'scroll-text': '☰',
};

export function nodeGlyph(type: string, nodeType?: NodeType): string {
  const icon = nodeType?.icon?.trim();
  if (icon) {
    const key = icon.toLowerCase().replace(/^(lucide|mdi|fa)[:-]/, '');
    if (GLYPHS[key]) return GLYPHS[key];
    // An emoji or a one/two-letter glyph is drawn as it is.
    if ([...icon].length <= 2) return icon;
  }
  return GLYPHS[type] ?? (nodeType?.title ?? type).slice(0, 1).toUpperCase();
}
