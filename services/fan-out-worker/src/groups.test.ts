// The pure parts of group fan-out: which path a group takes, and the ids that make a member's
// copy idempotent across redeliveries.
import { describe, expect, it } from 'vitest';
import { fanoutMode, inboxOf, memberCopyId } from './groups.js';

describe('fanoutMode', () => {
  it('fans out on write up to the threshold, and stores once above it', () => {
    expect(fanoutMode(0, 500)).toBe('inbox');
    expect(fanoutMode(3, 500)).toBe('inbox');
    expect(fanoutMode(500, 500)).toBe('inbox');
    expect(fanoutMode(501, 500)).toBe('channel');
    expect(fanoutMode(1, 0)).toBe('channel');
  });
});

describe('memberCopyId', () => {
  it('is the same for a redelivery and different per message and per member', () => {
    expect(memberCopyId(42, 'alice')).toBe(memberCopyId(42, 'alice'));
    expect(memberCopyId(42, 'alice')).not.toBe(memberCopyId(43, 'alice'));
    expect(memberCopyId(42, 'alice')).not.toBe(memberCopyId(42, 'bob'));
    // Never in the edge's `<user>|<channel>|<key>` space: no channel has a '|'.
    expect(memberCopyId(42, 'alice')).toBe('grp|42|alice');
  });
});

describe('inboxOf', () => {
  it('names the personal channel of a member', () => {
    expect(inboxOf('alice')).toBe('user:alice');
    expect(() => inboxOf('a.b')).toThrow(RangeError);
  });
});
