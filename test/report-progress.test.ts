import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { startProgress } from "../engine/report/progress.js";

/** A writable that can pretend to be a terminal. */
function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  w.isTTY = isTTY;
  w.columns = 120;
  (w as unknown as { cursorTo: () => boolean }).cursorTo = () => true;
  (w as unknown as { clearLine: () => boolean }).clearLine = () => true;
  return { stream: w, text: () => text };
}

describe("progress bar", () => {
  it("draws nothing when stderr is not a terminal (pipes, CI logs)", () => {
    const s = sink(false);
    const p = startProgress(1000, "replay", s.stream);
    p.update(500, 10);
    p.stop();
    expect(s.text()).toBe("");
  });
  it("draws bytes read and packets/s on a terminal", () => {
    const s = sink(true);
    const p = startProgress(1000, "replay", s.stream);
    p.update(500, 12345);
    p.stop();
    expect(s.text()).toMatch(/replay \[.*\] \d+% \| \d+ packets \| \d+ packets\/s/);
  });
  it("unknown size (stdin): no bar", () => {
    const s = sink(true);
    startProgress(null, "replay", s.stream).update(1, 1);
    expect(s.text()).toBe("");
  });
});
