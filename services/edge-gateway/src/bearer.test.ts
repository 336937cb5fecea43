import { describe, expect, it } from 'vitest';
import { bearerCredential } from './bearer.js';

describe('bearerCredential', () => {
  it('reads the credential whatever the scheme case and surrounding spaces', () => {
    expect(bearerCredential('Bearer abc.def')).toBe('abc.def');
    expect(bearerCredential('bearer abc')).toBe('abc');
    expect(bearerCredential('BEARER   abc  ')).toBe('abc');
  });
  it('refuses other schemes, a missing credential and two credentials', () => {
    expect(bearerCredential('Basic abc')).toBeUndefined();
    expect(bearerCredential('Bearer ')).toBeUndefined();
    expect(bearerCredential('Bearer a b')).toBeUndefined();
    expect(bearerCredential('')).toBeUndefined();
  });
});
