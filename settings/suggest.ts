// "Did you mean …?" for a misspelt config key: the closest known key by edit distance, if close enough.

/** Levenshtein distance, case-insensitive (idletime and idleTime are one typo apart, not zero). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[y.length] + (x === y && a !== b ? 1 : 0);
}

/** The known key nearest to `word`, when at most a third of its letters (at least 1, at most 3) differ. */
export function closest(word: string, known: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: { key: string; d: number } | undefined;
  for (const key of known) {
    const d = editDistance(word, key);
    if (d <= limit && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}
