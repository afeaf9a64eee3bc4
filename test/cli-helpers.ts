/** Runs one ctreplay subcommand in-process (the same register() main.ts uses) and captures its output. */
import { Command, CommanderError } from "commander";
import { vi } from "vitest";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(register: (p: Command) => void, args: string[]): Promise<CliRun> {
  const program = new Command().name("ctreplay").exitOverride();
  register(program);
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  const saved = process.exitCode;
  process.exitCode = 0;
  let code = 0;
  try {
    program.configureOutput({ writeErr: (s) => (stderr += s), writeOut: (s) => (stdout += s) });
    await program.parseAsync(["node", "ctreplay", ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? 0 : 2;
    else throw e;
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = saved;
  }
  return { code, stdout, stderr };
}
