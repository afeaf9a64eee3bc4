/** Option parsers shared by the subcommands (commander argParser callbacks). */
import { InvalidArgumentError } from "commander";

/** Repeatable option: collects every value in order. */
export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** Non-negative integer option (underscores allowed as digit separators); the error names the option. */
export function int(name: string) {
  return (v: string): number => {
    const n = Number(v.replace(/_/g, ""));
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}
