/**
 * `json.loads(bytes.decode('latin-1'))` as Django's JSONSerializer does it. Python also accepts the
 * bare tokens NaN, Infinity and -Infinity, which JSON.parse rejects; they become a marker object so a
 * session holding one still parses (and an id holding one is still unparsable, as in Python).
 */
export function parsePythonJson(bytes: Buffer): unknown {
  const text = bytes.toString('latin1');
  try {
    return JSON.parse(text);
  } catch {
    const patched = replaceNonFinite(text);
    if (patched === null) return undefined;
    try {
      return JSON.parse(patched);
    } catch {
      return undefined;
    }
  }
}

/** Python float constants outside strings; null when there are none (the text is simply invalid). */
function replaceNonFinite(text: string): string | null {
  let out = '';
  let changed = false;
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      const end = endOfString(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((t) => text.startsWith(t, i));
    if (token) {
      out += '{"$python_float":1}';
      i += token.length;
      changed = true;
      continue;
    }
    out += char;
    i++;
  }
  return changed ? out : null;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i++;
  }
  return text.length;
}
