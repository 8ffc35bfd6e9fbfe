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
