import { InvalidOptionError } from '@senseflow/core';

/** `*` matches any run of characters; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/**
 * The names (in `available` order) matching any pattern; all of them when `patterns` is undefined.
 * A pattern that matches nothing is an error naming `param` and listing what exists.
 */
export function selectNames(param: string, available: readonly string[], patterns: readonly string[] | undefined): string[] {
  if (!patterns) return [...available];
  const res = patterns.map(globToRegExp);
  res.forEach((re, i) => {
    if (!available.some((n) => re.test(n)))
      throw new InvalidOptionError(param, `names or patterns matching one of ${available.join(', ') || '(none on this machine)'}`, patterns[i], {
        choices: available,
      });
  });
  return available.filter((n) => res.some((re) => re.test(n)));
}
