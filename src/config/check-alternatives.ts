// Check keys that say the same thing in two ways: a level that sets one of them replaces the other
// from less specific levels, and giving both at one level is reported (check-merge.ts applies this).

export interface Alternative {
  /** The list form. */
  readonly key: 'urls' | 'dialogue';
  /** The single form it replaces as a whole. */
  readonly instead: readonly ('path' | 'expect_body' | 'expect_digest' | 'send' | 'expect')[];
  readonly why: string;
}

export const ALTERNATIVES: readonly Alternative[] = [
  {
    key: 'urls',
    instead: ['path', 'expect_body', 'expect_digest'],
    why: 'each entry of "urls" has its own path, expect_body and expect_digest',
  },
  {
    key: 'dialogue',
    instead: ['send', 'expect'],
    why: 'write the exchange as dialogue steps ({ send, expect })',
  },
];
