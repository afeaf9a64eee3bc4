/**
 * Runs every bench: `npm run bench` (full 5M-packet captures, generated once into the cache dir) or
 * `node dist/bench/run.js --quick` (a tenth of the size). `--only read-decode|replay|shard` picks one;
 * `--ct-max N` sets nf_conntrack_max for the replay bench (0 = unlimited; default the kernel's).
 */
import { benchReadDecode, printReadDecode } from "./read-decode.js";
import { benchReplay, ctMaxArg, printReplay } from "./replay.js";
import { benchShard, printShard } from "./shard.js";

const quick = process.argv.includes("--quick");
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

if (only === undefined || only === "read-decode") {
  const rd = await benchReadDecode(quick);
  printReadDecode(rd);
}
if (only === undefined || only === "replay") {
  printReplay(await benchReplay(quick, ctMaxArg(process.argv)));
}
if (only === undefined || only === "shard") {
  printShard(await benchShard(quick, !process.argv.includes("--no-timeline")));
}
