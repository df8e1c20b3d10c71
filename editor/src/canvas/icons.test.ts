import { describe, expect, it } from 'vitest';
import { groupGlyph, groupTitle, iconGlyph, nodeGlyph } from './icons';
import { nodeType } from '../test/fixtures';

describe('node and connection icons', () => {
  it('draws the icons the integration modules declare', () => {
    const names = ['database', 'table', 'git', 'mail', 's3', 'slack', 'rabbit', 'radio', 'send', 'sparkles', 'globe'];
    const glyphs = names.map((name) => iconGlyph(name));
    expect(glyphs).toEqual(['⛁', '▦', '⎇', '✉', '◫', '#', '⇉', '◉', '➤', '✦', '⇄']);
    expect(iconGlyph('lucide:database')).toBe('⛁');
  });

  it("falls back to the type's service, then to a plug, never to a letter", () => {
    expect(nodeGlyph('mysql.query', nodeType('mysql.query', [], { icon: 'unknown-icon', group: 'mysql' }))).toBe('⛁');
    expect(nodeGlyph('openapi.crm.listDeals', nodeType('openapi.crm.listDeals', [], { icon: '', group: 'x' }))).toBe(
      '⌁',
    );
    expect(nodeGlyph('acme.thing', nodeType('acme.thing', [], { icon: 'weird-icon', group: 'acme' }))).toBe('⌁');
    // An emoji or a short glyph is drawn as it is.
    expect(iconGlyph('🦆')).toBe('🦆');
  });

  it('titles and marks palette groups by service', () => {
    expect(groupTitle('postgres')).toBe('PostgreSQL');
    expect(groupTitle('openapi.petstore')).toBe('petstore (OpenAPI)');
    expect(groupTitle('logic')).toBe('logic');
    expect(groupGlyph('s3', undefined)).toBe('◫');
    expect(groupGlyph('logic', nodeType('condition', [], { icon: 'git-branch' }))).toBe('◇');
  });
});
