/** Reading from a pipe: openCaptureStream over a child's stdout, and `-` (stdin) in a real child process. */
import { spawn } from "node:child_process";
import { createReadStream, existsSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureError, openCaptureStream } from "../engine/capture/index.js";
import { capturesDir, digest, haveCaptures, readAll, readFile, repoRoot } from "./capture-util.js";

const distIndex = path.join(repoRoot, "dist/engine/capture/index.js");
const distFresh =
  existsSync(distIndex) &&
  statSync(distIndex).mtimeMs >= statSync(path.join(repoRoot, "engine/capture/open.ts")).mtimeMs &&
  statSync(distIndex).mtimeMs >= statSync(path.join(repoRoot, "engine/capture/reader.ts")).mtimeMs;
if (!distFresh)
  console.log("capture-stdin: dist/ missing or stale (run `npm run build`), child-process test skipped");

describe.skipIf(!haveCaptures)("capture from a pipe", () => {
  for (const file of [
    "tcp-syn-scan.pcap",
    "udp-portmapper-unanswered.pcapng.gz",
    "pptp-gre-bigendian.pcap",
  ]) {
    it(`openCaptureStream over \`cat ${file}\``, async () => {
      const full = path.join(capturesDir, file);
      const child = spawn("cat", [full], { stdio: ["ignore", "pipe", "inherit"] });
      const r = await openCaptureStream("-", child.stdout, { bufferSize: 64 * 1024 });
      if (r instanceof CaptureError) throw new Error(r.toString());
      const piped = await readAll(r, 100);
      await r.close();
      const direct = await readFile(full);
      expect(piped.records.length).toBe(direct.records.length);
      expect(digest(piped.records)).toBe(digest(direct.records));
      expect(r.info).toEqual({ ...direct.reader.info, file: "-" });
      expect(r.totalBytes).toBeNull();
      expect(r.bytesRead).toBe(statSync(full).size);
    });
  }

  it.skipIf(!distFresh)("`-` reads stdin in a child process", async () => {
    const file = path.join(capturesDir, "tcp-echo-many-connections.pcap.gz");
    const script = `
      import { openCapture, RecordBatch } from ${JSON.stringify(distIndex)};
      const r = await openCapture("-");
      if (!("readBatch" in r)) { console.log(JSON.stringify({ error: String(r) })); process.exit(0); }
      const b = new RecordBatch(4096);
      let n = 0, last = 0;
      for (let k; (k = await r.readBatch(b)) > 0; ) { n += k; last = b.tsSec[k - 1]; }
      console.log(JSON.stringify({ n, last, gzip: r.info.gzip, error: r.error && String(r.error) }));
      await r.close();`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createReadStream(file).pipe(child.stdin);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((res) => child.on("close", res));
    expect(code).toBe(0);
    const direct = await readFile(file);
    expect(JSON.parse(out)).toEqual({
      n: direct.records.length,
      last: direct.records.at(-1)!.sec,
      gzip: true,
      error: null,
    });
  });
});
