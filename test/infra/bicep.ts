// A deliberately small and strict reader for the parts of infra/main.bicep the tests check. The Bicep CLI
// is not available here, so anything this reader does not understand is an error, never a silent skip.

/** Removes // and /* *\/ comments outside strings, keeping line breaks so positions stay readable. */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (text.startsWith("'''", i)) {
      // Multi-line string: no escapes, ends at the next '''.
      const end = text.indexOf("'''", i + 3);
      const stop = end === -1 ? text.length : end + 3;
      out += text.slice(i, stop);
      i = stop;
    } else if (ch === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, '');
      i = stop;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** Index just past the bracket that closes the one at `open`, skipping strings. */
function matchingClose(text: string, open: number): number {
  const pairs: Record<string, string> = { '[': ']', '{': '}', '(': ')' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === "'") {
      i++;
      while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
      continue;
    }
    const close = pairs[ch];
    if (close !== undefined) stack.push(close);
    else if (ch === ']' || ch === '}' || ch === ')') {
      if (stack.pop() !== ch) throw new Error(`Unbalanced '${ch}' at offset ${i}`);
      if (stack.length === 0) return i + 1;
    }
  }
  throw new Error(`No closing bracket for offset ${open}`);
}

/** Bodies (without the brackets) of every `key: [ … ]` or `key: { … }` value in the text. */
export function blocksOf(text: string, key: string, open: '[' | '{'): string[] {
  const found: string[] = [];
  const re = new RegExp(`(^|[\\s{])${key}\\s*:\\s*\\${open}`, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index + m[0].length - 1;
    const end = matchingClose(text, start);
    found.push(text.slice(start + 1, end - 1));
  }
  return found;
}

/** Top-level `key: value` properties of an object body, one per line as Bicep writes them. */
export function propertiesOf(objectBody: string): Map<string, string> {
  const props = new Map<string, string>();
  let i = 0;
  const body = objectBody;
  while (i < body.length) {
    const rest = body.slice(i);
    const lead = /^\s*/.exec(rest)?.[0].length ?? 0;
    i += lead;
    if (i >= body.length) break;
    const m = /^([A-Za-z_][A-Za-z0-9_]*|'[^']*')\s*:\s*/.exec(body.slice(i));
    if (m === null) throw new Error(`Cannot read a property at: ${body.slice(i, i + 40)}`);
    const key = (m[1] ?? '').replace(/^'|'$/g, '');
    i += m[0].length;
    // A value runs to the end of its line, or to the bracket that closes one opened on it.
    let j = i;
    while (j < body.length && body[j] !== '\n') {
      const ch = body[j];
      if (ch === '[' || ch === '{' || ch === '(') j = matchingClose(body, j);
      else if (ch === "'") {
        j++;
        while (j < body.length && body[j] !== "'") j += body[j] === '\\' ? 2 : 1;
        j++;
      } else j++;
    }
    if (props.has(key)) throw new Error(`Property ${key} appears twice`);
    props.set(key, body.slice(i, j).trim());
    i = j;
  }
  return props;
}

/** The content of a plain single-quoted literal, or undefined for any expression or interpolation. */
export function literal(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(value);
  return m?.[1];
}

export interface AppSetting {
  readonly name: string;
  /** The value as written: a literal in quotes or an expression. */
  readonly value: string;
}

/**
 * Reads the single `appSettings: [ … ]` array. Each element must be `{ name: '<literal>' value: … }`;
 * a computed name, a spread, a loop or a second array is an error, so no setting can hide from the test.
 */
export function appSettingsOf(bicep: string): AppSetting[] {
  const blocks = blocksOf(stripComments(bicep), 'appSettings', '[');
  if (blocks.length !== 1) throw new Error(`Expected exactly one appSettings array, found ${blocks.length}`);
  const body = blocks[0] ?? '';
  const settings: AppSetting[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch !== '{')
      throw new Error(`appSettings holds something other than an object at: ${body.slice(i, i + 40)}`);
    const end = matchingClose(body, i);
    const props = propertiesOf(body.slice(i + 1, end - 1));
    const name = literal(props.get('name'));
    const value = props.get('value');
    if (name === undefined)
      throw new Error(`appSettings entry without a literal name: ${body.slice(i, end)}`);
    if (value === undefined || value === '') throw new Error(`appSettings entry ${name} has no value`);
    if (props.size !== 2)
      throw new Error(`appSettings entry ${name} has properties other than name and value`);
    settings.push({ name, value });
    i = end;
  }
  return settings;
}

/** Names from `expected` that the Bicep's appSettings do not define. */
export function missingAppSettings(bicep: string, expected: readonly string[]): string[] {
  const defined = new Set(appSettingsOf(bicep).map((s) => s.name));
  return expected.filter((name) => !defined.has(name));
}

/** `var x = '<literal>'` declarations. */
export function variablesOf(bicep: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const m of stripComments(bicep).matchAll(/^var\s+(\w+)\s*=\s*('.*')\s*$/gm)) {
    const value = literal(m[2]);
    if (m[1] !== undefined && value !== undefined) vars.set(m[1], value);
  }
  return vars;
}

/** Declared resources: symbol → type with API version. */
export function resourcesOf(bicep: string): Map<string, string> {
  const resources = new Map<string, string>();
  for (const m of stripComments(bicep).matchAll(/^resource\s+(\w+)\s+'([^']+)'/gm)) {
    if (m[1] !== undefined && m[2] !== undefined) resources.set(m[1], m[2]);
  }
  return resources;
}

/** Role definition GUIDs used by role assignments, resolving `var` references. */
export function roleDefinitionGuids(bicep: string): string[] {
  const vars = variablesOf(bicep);
  const guids: string[] = [];
  const re =
    /roleDefinitionId:\s*subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*([^)]+)\)/g;
  for (const m of stripComments(bicep).matchAll(re)) {
    const arg = (m[1] ?? '').trim();
    const guid = literal(arg) ?? vars.get(arg);
    if (guid === undefined) throw new Error(`Cannot resolve role definition ${arg}`);
    guids.push(guid.toLowerCase());
  }
  return guids;
}

export interface BicepParam {
  readonly type: string;
  readonly defaultValue?: string;
  readonly allowed?: string[];
}

/** `param name type [= default]` declarations, with the @allowed([...]) list above each when present. */
export function paramsOf(bicep: string): Map<string, BicepParam> {
  const lines = stripComments(bicep).split('\n');
  const params = new Map<string, BicepParam>();
  lines.forEach((line, index) => {
    const m = /^param\s+(\w+)\s+(\w+)(?:\s*=\s*(.+))?$/.exec(line);
    if (m === null) return;
    // Decorators are the lines directly above, up to a blank line or the previous declaration.
    let first = index;
    while (first > 0) {
      const above = lines[first - 1] ?? '';
      if (above.trim() === '' || /^(param|var|resource|output|module|targetScope)\b/.test(above)) break;
      first--;
    }
    const decorators = lines.slice(first, index).join('\n');
    const allowed = /@allowed\(\[([\s\S]*?)\]\)/
      .exec(decorators)?.[1]
      ?.split(/\s+/)
      .filter((v) => v !== '')
      .map((v) => literal(v) ?? v);
    params.set(m[1] ?? '', {
      type: m[2] ?? '',
      ...(m[3] !== undefined ? { defaultValue: m[3].trim() } : {}),
      ...(allowed !== undefined ? { allowed } : {}),
    });
  });
  return params;
}
