import { describe, expect, it } from 'vitest';
import { labelsText, parseLabels } from './labels';

describe('runner labels', () => {
  it('reads k=v pairs, keeping = inside values and skipping blanks', () => {
    expect(parseLabels('location=onprem, gpu = yes,, bad, url=a=b')).toEqual({
      location: 'onprem',
      gpu: 'yes',
      url: 'a=b',
    });
    expect(labelsText({ a: '1', b: '2' })).toBe('a=1, b=2');
  });
});
