// Line diff (longest common subsequence) for the side-by-side version view.

/** Rows `{kind: 'same'|'del'|'add'|'chg', left, right}` turning `a` into `b`. */
export function diffLines(a, b) {
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const rows = [];
  let i = 0, j = 0;
  const dels = [], adds = [];
  const flush = () => {
    while (dels.length || adds.length) {
      const l = dels.shift(), r = adds.shift();
      rows.push({ kind: l !== undefined && r !== undefined ? 'chg' : l !== undefined ? 'del' : 'add', left: l ?? '', right: r ?? '' });
    }
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { flush(); rows.push({ kind: 'same', left: a[i], right: b[j] }); i++; j++; }
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) adds.push(b[j++]);
    else dels.push(a[i++]);
  }
  flush();
  return rows;
}
