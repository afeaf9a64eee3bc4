/**
 * `ctreplay verify CAPTURE`: replays the capture through this host's real nf_conntrack in a throwaway network
 * namespace (root only), replays the same timeline through ctreplay, and prints every difference.
 * Exit 0 identical, 1 differences, 2 cannot run (not root, missing nft/conntrack/netns, bad input).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { formatDifference, OracleError, parseSysctl, verifyCapture } from "../../oracle/index.js";
import { collect } from "../options.js";

interface VerifyCliOptions {
  fixChecksums?: boolean;
  sysctl: string[];
  max?: string;
  keep?: string;
  timeoutTol: string;
  truncated: string;
  speed: string;
  json?: boolean;
}

function fail(msg: string): void {
  process.stderr.write(`ctreplay verify: ${msg}\n`);
  process.exitCode = 2;
}

export function register(program: Command): void {
  program
    .command("verify")
    .description(
      "Differential test on THIS host's kernel (root): inject the capture into nf_conntrack inside a " +
        "private network namespace, replay the same timeline with ctreplay, print every difference.\n" +
        "Exit 0 identical, 1 differences, 2 cannot run.",
    )
    .argument("<capture>", "pcap / pcapng (optionally gzip) file")
    .option(
      "--fix-checksums",
      "recompute IPv4 header and L4 checksums before injecting (TX checksum offload captures)",
    )
    .option("--sysctl <key=value>", "sysctl inside the namespace and for ctreplay (repeatable)", collect, [])
    .option("--max <n>", "global nf_conntrack_max during the run (restored afterwards; runs are serialized)")
    .option(
      "--keep <dir>",
      "keep the run's files (replayed.pcap, table.txt, table.jsonl, summary.json...) in DIR",
    )
    .option("--timeout-tol <seconds>", "allowed remaining-timeout difference", "1")
    .option("--truncated <mode>", "snaplen-truncated packets: pad | drop | raw", "pad")
    .option("--speed <x>", "0 = inject as fast as possible, 1 = capture pacing, 10 = ten times faster", "0")
    .option("--json", "print the comparison as JSON")
    .action(async (capture: string, o: VerifyCliOptions) => {
      const sysctls: [string, string][] = [];
      for (const kv of o.sysctl) {
        const p = parseSysctl(kv);
        if (typeof p === "string") return fail(p);
        sysctls.push(p);
      }
      const max = o.max === undefined ? undefined : Number(o.max);
      if (max !== undefined && !(Number.isInteger(max) && max > 0)) return fail(`bad --max "${o.max}"`);
      const tol = Number(o.timeoutTol);
      const speed = Number(o.speed);
      if (!(tol >= 0)) return fail(`bad --timeout-tol "${o.timeoutTol}"`);
      if (!(speed >= 0)) return fail(`bad --speed "${o.speed}"`);
      if (o.truncated !== "pad" && o.truncated !== "drop" && o.truncated !== "raw") {
        return fail(`bad --truncated "${o.truncated}" (pad, drop or raw)`);
      }
      // `ctreplay verify X | head`: a closed pipe is not an error worth a stack trace
      process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
      });
      const outDir = o.keep ? path.resolve(o.keep) : mkdtempSync(path.join(os.tmpdir(), "ctreplay-verify-"));
      try {
        const r = await verifyCapture({
          capture,
          outDir,
          sysctls,
          ...(max === undefined ? {} : { max }),
          fixChecksums: o.fixChecksums === true,
          truncated: o.truncated,
          speed,
          timeoutTol: tol,
        });
        if (r instanceof OracleError) {
          // Differences can only be judged when both sides ran: anything else is "cannot run".
          return fail(r.message);
        }
        const t = r.table;
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ kernelEntries: t.kernelEntries, ctreplayEntries: t.ctreplayEntries, identical: t.identical, differences: r.differences, kernelStats: r.kernel.stats.total, ctreplayStats: r.model.stats, input: r.kernel.input, dumpTime: r.kernel.dumpTime }, null, 1)}\n`,
          );
        } else {
          process.stdout.write(
            `${t.identical} of ${t.kernelEntries} entries identical (ctreplay has ${t.ctreplayEntries}); ` +
              `${r.kernel.inject.injected} packets injected into kernel ${os.release()}\n`,
          );
          for (const d of r.differences) process.stdout.write(`  ${formatDifference(d)}\n`);
          // Where packets went in the kernel (nft counters): help explain missing/extra entries.
          const n = r.kernel.nft;
          const lostBefore = r.kernel.inject.injected - (n.pre_in ?? 0);
          const lostRouting = (n.pre_in ?? 0) - (n.in_in ?? 0);
          if (lostBefore > 0) {
            process.stdout.write(
              `note: ${lostBefore} packets never reached conntrack (dropped by the IP layer before PREROUTING, or by conntrack itself)\n`,
            );
          }
          if (lostRouting > 0) {
            process.stdout.write(
              `note: ${lostRouting} packets passed conntrack but were dropped by routing before INPUT (never confirmed)\n`,
            );
          }
          const lo6 = r.kernel.input?.ipv6Loopback ?? 0;
          if (lo6 > 0) {
            process.stdout.write(
              `note: ${lo6} IPv6 packets from/to ::1: the kernel drops them on a non-loopback device before conntrack, ` +
                "so IPv6 loopback traffic cannot be verified this way\n",
            );
          }
          const bad = r.kernel.input?.csum.bad ?? 0;
          if (bad && !o.fixChecksums) {
            process.stdout.write(
              `note: ${bad} packets have bad checksums (the kernel counts them invalid); captured with TX offload? try --fix-checksums\n`,
            );
          }
          if (o.keep) process.stdout.write(`files kept in ${outDir}\n`);
        }
        process.exitCode = r.differences.length === 0 ? 0 : 1;
      } finally {
        if (!o.keep) rmSync(outDir, { recursive: true, force: true });
      }
    });
}
