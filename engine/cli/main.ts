#!/usr/bin/env node
/**
 * ctreplay command line: one subcommand per file in ./commands, each exporting `register(program)`.
 * Exit status: 0 success, 1 regression (check) or verification difference (verify), 2 usage or input error.
 */
import { Command, CommanderError } from "commander";
import { register as registerCheck } from "./commands/check.js";
import { register as registerCompare } from "./commands/compare.js";
import { register as registerGenerate } from "./commands/generate.js";
import { register as registerInspect } from "./commands/inspect.js";
import { register as registerReplay } from "./commands/replay.js";
import { register as registerSize } from "./commands/size.js";
import { register as registerVerify } from "./commands/verify.js";
import { VERSION } from "./version.js";

const program = new Command();
program
  .name("ctreplay")
  .description(
    "Replay packet captures through a faithful model of Linux connection tracking (nf_conntrack): " +
      "table occupancy, conntrack -S counters, kernel memory, sizing, timeout profiles, CI checks.",
  )
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride();

// Subcommands, in the order of the data flow and of the README.
registerInspect(program);
registerReplay(program);
registerSize(program);
registerCompare(program);
registerCheck(program);
registerVerify(program);
registerGenerate(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help / --version exit 0; usage errors exit 2 (commander already printed the message).
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    throw err;
  }
}
