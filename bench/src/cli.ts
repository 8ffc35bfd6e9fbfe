/** Command-line options shared by the benchmark scripts (`--name=value`, repeatable where noted). */

/** The value of `--name=value`, or the fallback when absent. */
export function option(name: string, fallback: string, argv: readonly string[] = process.argv): string {
  const hit = argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

/** `--name=N` as an integer within [min, max]; anything else throws naming the option. */
export function boundedInt(
  name: string,
  fallback: number,
  min: number,
  max: number,
  argv: readonly string[] = process.argv,
): number {
  const value = Number(option(name, String(fallback), argv));
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * `--name=a,b`: a comma list of values from `allowed`, each at most once, in the order given (spaces
 * around a value ignored), or the fallback when absent; anything else throws naming the option.
 */
export function listOption<T extends string>(
  name: string,
  allowed: readonly T[],
  fallback: readonly T[],
  argv: readonly string[] = process.argv,
): T[] {
  if (!argv.some((a) => a.startsWith(`--${name}=`))) return [...fallback];
  const values = option(name, "", argv)
    .split(",")
    .map((v) => v.trim());
  const known = (v: string): v is T => (allowed as readonly string[]).includes(v);
  if (!values.every(known) || new Set(values).size !== values.length) {
    throw new Error(`--${name} must be a comma list of ${allowed.join(", ")} (each at most once)`);
  }
  return values;
}

/** Every value of a repeatable `--name=value`, in order. */
export function repeated(name: string, argv: readonly string[] = process.argv): string[] {
  return argv.filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
}

/** A repeatable `--name=KEY=VALUE` as an environment object (entries without a `=` are ignored). */
export function envOption(name: string, argv: readonly string[] = process.argv): Record<string, string> {
  return Object.fromEntries(
    repeated(name, argv)
      .filter((kv) => kv.indexOf("=") > 0)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}
