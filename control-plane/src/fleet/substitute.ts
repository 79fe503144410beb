// `${variable}` substitution in manifest text, done per cluster before YAML parsing (like
// Flux's post-build substitution), so a variable can stand anywhere: a value, part of a
// string, a key. One pass, no recursion: text a variable expands to is never expanded again.
// `$${x}` is the escape for a literal `${x}` (shell scripts in ConfigMaps need it).
// Variables that cannot be resolved are errors, never silently empty: an empty namespace
// or image tag is the kind of mistake that takes a fleet down.

export type VariableRef = {
  /** What stood between `${` and `}`. */
  name: string;
  /** Offset of the `$` in the text. */
  offset: number;
  /** 1-based line of the `$`. */
  line: number;
  /** True when the closing `}` is missing on that line. */
  unterminated: boolean;
};

export type SubstituteResult = {
  text: string;
  /** References `resolve` returned undefined for (or unterminated ones), in text order. */
  unresolved: VariableRef[];
};

const REF = /\$(\$?)\{([^}\n]*)(\}?)/g;

/** Variables that exist for every cluster: `stage`, `revision`, `cluster.name`, `cluster.labels.<key>`. */
export const BUILTIN_VARIABLES = ['stage', 'revision', 'cluster.name', 'cluster.labels.<key>'] as const;

/** Whether a name refers to a built-in variable (label presence is checked when rendering). */
export function isBuiltinVariable(name: string): boolean {
  return (
    name === 'stage' ||
    name === 'revision' ||
    name === 'cluster.name' ||
    (name.startsWith('cluster.labels.') && name.length > 'cluster.labels.'.length)
  );
}

function lineAt(
  text: string,
  offset: number,
  from = { offset: 0, line: 1 },
): { offset: number; line: number } {
  let line = from.line;
  for (let i = from.offset; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return { offset, line };
}

/** Every `${...}` reference in the text (escaped `$${...}` excluded), in order. */
export function findVariables(text: string): VariableRef[] {
  return substitute(text, () => undefined).unresolved;
}

/** Replaces each `${name}` by `resolve(name)`; unescapes `$${` to `${`. */
export function substitute(text: string, resolve: (name: string) => string | undefined): SubstituteResult {
  const unresolved: VariableRef[] = [];
  let cursor = { offset: 0, line: 1 };
  const out = text.replace(REF, (match, escaped: string, name: string, close: string, offset: number) => {
    if (escaped) return match.slice(1);
    cursor = lineAt(text, offset, cursor);
    const value = close ? resolve(name) : undefined;
    if (value === undefined) {
      unresolved.push({ name, offset, line: cursor.line, unterminated: !close });
      return match;
    }
    return value;
  });
  return { text: out, unresolved };
}
