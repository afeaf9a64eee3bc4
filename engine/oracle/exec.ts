/** Child processes for the oracle: PATH that includes sbin (ip, nft, conntrack live there), async capture. */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export const ORACLE_PATH = [
  process.env.PATH ?? "",
  "/usr/local/sbin",
  "/usr/sbin",
  "/sbin",
  "/usr/bin",
  "/bin",
]
  .filter(Boolean)
  .join(":");

export const childEnv: NodeJS.ProcessEnv = { ...process.env, PATH: ORACLE_PATH, LC_ALL: "C" };

export interface ExecResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (never rejects for a non-zero exit: the caller judges `code`). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; onSpawn?: (pid: number) => void } = {},
) {
  return new Promise<ExecResult>((resolve) => {
    const child = spawn(cmd, args, { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.on("error", (e) => resolve({ code: 127, signal: null, stdout: "", stderr: String(e.message) }));
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? 128,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** Full path of an executable found on ORACLE_PATH, or null. */
export function which(name: string): string | null {
  for (const dir of ORACLE_PATH.split(":")) {
    const p = path.join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}
