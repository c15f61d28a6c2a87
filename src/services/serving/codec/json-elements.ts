/**
 * The elements of a top-level array field of a JSON object, as JSON text, without parsing the
 * values: what the prediction log keeps of a body a replica already checked (parsing 784 numbers
 * and printing them again costs more than the prediction did).
 */

const QUOTE = 34, BACKSLASH = 92, COLON = 58, COMMA = 44;
const OPEN = new Set([91, 123]); // [ {
const CLOSE = new Set([93, 125]); // ] }

/**
 * The texts of the elements of the array `obj[key]` for the first of `keys` present (in `keys`
 * order), in valid JSON text `text` whose top level is an object; undefined when none is an array.
 */
export function arrayFieldElements(text: string, keys: readonly string[]): string[] | undefined {
  const found = new Map<string, string[]>();
  let depth = 0;
  let key: string | undefined;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (depth === 1 && expectKey) key = text.slice(i + 1, end);
      i = end;
      continue;
    }
    if (OPEN.has(c)) {
      if (depth === 1 && c === 91 && key !== undefined && keys.includes(key) && !found.has(key)) {
        const { elements, end } = elementsFrom(text, i);
        found.set(key, elements);
        i = end;
        key = undefined;
        continue;
      }
      depth++;
      if (depth === 1) expectKey = true;
      continue;
    }
    if (CLOSE.has(c)) {
      depth--;
      continue;
    }
    if (depth === 1 && c === COLON) expectKey = false;
    else if (depth === 1 && c === COMMA) {
      expectKey = true;
      key = undefined;
    }
  }
  for (const k of keys) if (found.has(k)) return found.get(k);
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return text.length;
}

/** The element texts of the array opening at `start`, and the index of its closing bracket. */
function elementsFrom(text: string, start: number): { elements: string[]; end: number } {
  const elements: string[] = [];
  let depth = 0;
  let from = start + 1;
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i);
    else if (OPEN.has(c)) depth++;
    else if (CLOSE.has(c)) {
      if (depth === 0) {
        const last = text.slice(from, i).trim();
        if (last !== '') elements.push(last);
        return { elements, end: i };
      }
      depth--;
    } else if (c === COMMA && depth === 0) {
      elements.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  return { elements, end: text.length };
}
