import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderHtml } from "../engine/report/html.js";
import { sampleReport } from "./report-fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.log(`report-html: browser checks skipped: ${CHROMIUM} not installed (.ci/run installs it)`);

const dir = mkdtempSync(path.join(tmpdir(), "ctreplay-html-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads a file in headless Chromium; returns the DOM after scripts ran and the page's console lines. */
function render(html: string, name: string): { dom: string; console: string[] } {
  const file = path.join(dir, name);
  writeFileSync(file, html);
  const profile = mkdtempSync(path.join(dir, "profile-"));
  const res = spawnSync(
    CHROMIUM,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      "--enable-logging=stderr",
      "--v=0",
      "--dump-dom",
      `file://${file}`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  expect(res.status, res.stderr).toBe(0);
  return { dom: res.stdout, console: res.stderr.split("\n").filter((l) => l.includes(":CONSOLE")) };
}

describe("HTML report (static)", () => {
  const html = renderHtml([sampleReport()]);
  it("is self-contained: no external URLs, scripts or styles", () => {
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
  });
  it("draws paths with data for each chart", () => {
    const paths = [...html.matchAll(/<path class="series[^"]*"[^>]*data-points="(\d+)"[^>]*d="([^"]+)"/g)];
    expect(paths.length).toBeGreaterThanOrEqual(6);
    for (const p of paths) expect(Number(p[1])).toBe(21);
    const line = paths.find((p) => p[0].includes('data-series="nf_conntrack_count"'))!;
    expect((line[2]!.match(/[ML]/g) ?? []).length).toBe(21);
  });
  it("overlays one series per run in compare mode", () => {
    const c = renderHtml([sampleReport("a"), sampleReport("b", 2)]);
    const counts = [...c.matchAll(/<svg[^>]*aria-label="nf_conntrack_count"[\s\S]*?<\/svg>/g)];
    expect(counts).toHaveLength(1);
    expect(counts[0]![0]).toContain('data-series="a"');
    expect(counts[0]![0]).toContain('data-series="b"');
  });
});

describe.skipIf(!haveChromium)("HTML report in headless Chromium", () => {
  it("console detection works (a page with an error is caught)", () => {
    const r = render(
      '<html><body><script>console.error("boom"); notDefined();</script></body></html>',
      "bad.html",
    );
    expect(r.console.some((l) => l.includes("boom"))).toBe(true);
    expect(r.console.some((l) => l.includes("Uncaught"))).toBe(true);
  });

  for (const [name, reports] of [
    ["single", [sampleReport()]],
    ["compare", [sampleReport("a"), sampleReport("b", 2)]],
  ] as const) {
    it(`${name}: every chart path is drawn, no console errors`, () => {
      const r = render(renderHtml(reports), `${name}.html`);
      expect(r.console).toEqual([]);
      const paths = Number(/data-paths="(\d+)"/.exec(r.dom)?.[1]);
      const drawn = Number(/data-drawn="(\d+)"/.exec(r.dom)?.[1]);
      expect(paths).toBeGreaterThanOrEqual(6);
      expect(drawn).toBe(paths);
    });
  }
});
