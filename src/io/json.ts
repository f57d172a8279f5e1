// A strict JSON parser for safetensors headers. JSON.parse cannot be used
// there: it keeps the last of duplicate keys silently (the format forbids
// them) and turns integers past 2^53 into nearby doubles. This one parses
// RFC 8259 JSON (no extensions) and returns
// - objects as Maps (key order as written, duplicate keys refused),
// - integer literals (no fraction, no exponent) as bigint, exact at any size,
// - other numbers as number, strings, booleans, null and arrays as usual,
// and reports the first error with its position.

/** A parsed JSON value: see the module comment. */
export type Json = null | boolean | number | bigint | string | Json[] | JsonObject;
/** A JSON object: its entries in the order written. */
export type JsonObject = Map<string, Json>;

/** Nesting deeper than this is refused (serde_json's recursion limit). */
const MAX_DEPTH = 128;

/** Why a text is not JSON, and the character position where that shows. */
export class JsonSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`);
  }
}

const enum C {
  TAB = 9, LF = 10, CR = 13, SPACE = 32, QUOTE = 34, PLUS = 43, COMMA = 44, MINUS = 45, DOT = 46,
  ZERO = 48, NINE = 57, COLON = 58, LBRACKET = 91, BACKSLASH = 92, RBRACKET = 93,
  LOWER_E = 101, UPPER_E = 69, LBRACE = 123, RBRACE = 125,
}

/**
 * Parses `text` as one JSON value (whitespace around it allowed).
 *
 * @example
 * parseJson('{"a": [1, 2.5], "b": null}');   // Map { 'a' => [1n, 2.5], 'b' => null }
 * parseJson('{"a": 1, "a": 2}');             // JsonSyntaxError: duplicate key "a" (first at position 1) at position 9
 */
export function parseJson(text: string): Json {
  let i = 0;
  const n = text.length;
  const fail = (msg: string, at = i): never => { throw new JsonSyntaxError(msg, at); };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === C.SPACE || c === C.LF || c === C.CR || c === C.TAB) i++;
      else break;
    }
  };
  const unexpected = (): never => (i >= n ? fail('unexpected end of text') : fail(`unexpected character ${JSON.stringify(text[i])}`));

  const str = (): string => {
    // at the opening quote
    i++;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= n) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === C.QUOTE) { out += text.slice(run, i); i++; return out; }
      if (c < 0x20) fail('control character in a string');
      if (c !== C.BACKSLASH) { i++; continue; }
      out += text.slice(run, i);
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = (at: number): number => {
            const h = text.slice(at, at + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('invalid \\u escape', at - 2);
            return parseInt(h, 16);
          };
          const u = hex(i);
          i += 4;
          if (u >= 0xdc00 && u <= 0xdfff) fail('lone trailing surrogate in a \\u escape', i - 6);
          if (u >= 0xd800 && u <= 0xdbff) {
            if (text[i] !== '\\' || text[i + 1] !== 'u') fail('lone leading surrogate in a \\u escape', i - 6);
            const v = hex(i + 2);
            if (v < 0xdc00 || v > 0xdfff) fail('lone leading surrogate in a \\u escape', i - 6);
            i += 6;
            out += String.fromCharCode(u, v);
          } else out += String.fromCharCode(u);
          break;
        }
        default: fail('invalid escape', i - 2);
      }
      run = i;
    }
  };

  const num = (): number | bigint => {
    const start = i;
    if (text.charCodeAt(i) === C.MINUS) i++;
    const digits = () => {
      const s = i;
      while (i < n && text.charCodeAt(i) >= C.ZERO && text.charCodeAt(i) <= C.NINE) i++;
      if (i === s) unexpected();
    };
    if (text.charCodeAt(i) === C.ZERO) i++;
    else digits();
    let integer = true;
    if (text.charCodeAt(i) === C.DOT) { i++; digits(); integer = false; }
    const c = text.charCodeAt(i);
    if (c === C.LOWER_E || c === C.UPPER_E) {
      i++;
      const s = text.charCodeAt(i);
      if (s === C.PLUS || s === C.MINUS) i++;
      digits();
      integer = false;
    }
    const lit = text.slice(start, i);
    return integer ? BigInt(lit) : Number(lit);
  };

  const word = (w: string, v: Json): Json => {
    if (text.startsWith(w, i)) { i += w.length; return v; }
    return unexpected();
  };

  const value = (depth: number): Json => {
    ws();
    if (i >= n) return unexpected();
    const c = text.charCodeAt(i);
    if (c === C.LBRACE) {
      if (depth >= MAX_DEPTH) fail('nested too deeply');
      i++;
      const obj: JsonObject = new Map();
      const where = new Map<string, number>();
      ws();
      if (text.charCodeAt(i) === C.RBRACE) { i++; return obj; }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== C.QUOTE) unexpected();
        const at = i;
        const key = str();
        if (where.has(key)) fail(`duplicate key ${JSON.stringify(key)} (first at position ${where.get(key)})`, at);
        where.set(key, at);
        ws();
        if (text.charCodeAt(i) !== C.COLON) unexpected();
        i++;
        obj.set(key, value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === C.COMMA) { i++; continue; }
        if (d === C.RBRACE) { i++; return obj; }
        unexpected();
      }
    }
    if (c === C.LBRACKET) {
      if (depth >= MAX_DEPTH) fail('nested too deeply');
      i++;
      const arr: Json[] = [];
      ws();
      if (text.charCodeAt(i) === C.RBRACKET) { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === C.COMMA) { i++; continue; }
        if (d === C.RBRACKET) { i++; return arr; }
        unexpected();
      }
    }
    if (c === C.QUOTE) return str();
    if (c === C.MINUS || (c >= C.ZERO && c <= C.NINE)) return num();
    if (c === 116) return word('true', true);
    if (c === 102) return word('false', false);
    if (c === 110) return word('null', null);
    return unexpected();
  };

  const v = value(0);
  ws();
  if (i < n) unexpected();
  return v;
}
