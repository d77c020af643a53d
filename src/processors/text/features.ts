// Counting features of one text field. Every definition here is also written out in README.md
// and re-implemented independently (Python, stdlib `re` + `unicodedata`) by test/text.test.ts.
import emojiRegex from 'emoji-regex';

/** A word character: a letter, mark or number (Unicode general categories L*, M*, N*), or `_`. */
const W = '[\\p{L}\\p{M}\\p{N}_]';
/** Words: runs of word characters, joined by inner apostrophes (`don't`, `l’eau`). */
const WORD = new RegExp(`${W}+(?:['\u2019]${W}+)*`, 'gu');
/** http(s) URLs and bare `www.` hosts up to whitespace or a quote/angle bracket. */
const URL = /(?:https?:\/\/|www\.)[^\s<>"'`]+/giu;
/** Trailing punctuation that ends a sentence rather than a URL. */
const URL_TRAILER = /[.,;:!?)\]}'"»]+$/u;
/** A sentence ends at a run of terminators followed by whitespace or the end, or at a line break. */
const SENTENCE_END = /[.!?\u2026\u3002\uff01\uff1f]+(?=\s|$)|[\n\r]+/gu;
const HAS_WORD_CHAR = new RegExp(W, 'u');
const QUESTIONS = /[?\uff1f]+/gu;
const EXCLAMATIONS = /[!\uff01]+/gu;
/** `#tag` / `@user` not glued to a preceding word character (so e-mail addresses are no mentions). */
const HASHTAG = new RegExp(`(?<!${W}|[&#])#${W}+`, 'gu');
const MENTION = new RegExp(`(?<!${W}|@)@${W}+`, 'gu');

/** What `countText` measures in one text (README "Counts"). */
export interface TextCounts {
  /** Unicode code points of the NFC text. */
  chars: number;
  words: number;
  sentences: number;
  questions: number;
  exclamations: number;
  hashtags: number;
  mentions: number;
  /** Emoji (each RGI emoji sequence — ZWJ families, flags, skin tones — counts once). */
  emoji: number;
  urls: number;
  /** Lower-cased hosts of the URLs (without `www.`, user info or port), in order; hashed before storing. */
  urlDomains: string[];
}

const count = (text: string, re: RegExp): number => {
  let n = 0;
  for (const _ of text.matchAll(re)) n++;
  return n;
};

/** The host of a URL match, lower-cased, without `www.`, user info or port. */
export function urlDomain(url: string): string {
  const rest = url.replace(/^https?:\/\//i, '');
  const authority = rest.split(/[/?#]/u)[0] ?? '';
  const host = (authority.split('@').pop() ?? '').replace(/:\d*$/u, '').toLowerCase();
  return host.replace(/^www\./u, '');
}

/** Counts of one text; the text is NFC-normalised first, URLs are cut out before the other patterns. */
export function countText(raw: string): TextCounts {
  const text = raw.normalize('NFC');
  const urlDomains: string[] = [];
  const rest = text.replace(URL, (match) => {
    const url = match.replace(URL_TRAILER, '');
    urlDomains.push(urlDomain(url));
    return ' ' + match.slice(url.length);
  });
  let sentences = 0;
  for (const part of rest.split(SENTENCE_END)) if (HAS_WORD_CHAR.test(part)) sentences++;
  return {
    chars: [...text].length,
    words: count(rest, WORD),
    sentences,
    questions: count(rest, QUESTIONS),
    exclamations: count(rest, EXCLAMATIONS),
    hashtags: count(rest, HASHTAG),
    mentions: count(rest, MENTION),
    emoji: count(rest, emojiRegex()),
    urls: urlDomains.length,
    urlDomains,
  };
}

/** The sentences of a text, terminators kept (`countText`'s sentence ends), for chunking. */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?\u2026\u3002\uff01\uff1f])(?=\s)|[\n\r]+/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
