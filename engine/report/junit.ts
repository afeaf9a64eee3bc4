/** JUnit XML (the Ant/Surefire shape CI systems read) for `ctreplay check`: one testcase per capture x metric. */

export interface JUnitCase {
  /** Capture (class name in CI UIs). */
  classname: string;
  /** Metric checked. */
  name: string;
  timeSec?: number;
  /** Regression message; absent = passed. */
  failure?: string;
  /** Input/usage problem for this capture. */
  error?: string;
  skipped?: string;
}

export function escXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD]/gu, "\uFFFD"); // control characters are not allowed in XML
}

export function renderJUnit(suiteName: string, cases: readonly JUnitCase[], timestamp = new Date()): string {
  const failures = cases.filter((c) => c.failure !== undefined).length;
  const errors = cases.filter((c) => c.error !== undefined).length;
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const time = cases.reduce((a, c) => a + (c.timeSec ?? 0), 0);
  const L: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  L.push(
    `<testsuites name="${escXml(suiteName)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time.toFixed(3)}">`,
  );
  L.push(
    `  <testsuite name="${escXml(suiteName)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${timestamp.toISOString().slice(0, 19)}">`,
  );
  for (const c of cases) {
    const head = `    <testcase classname="${escXml(c.classname)}" name="${escXml(c.name)}" time="${(c.timeSec ?? 0).toFixed(3)}"`;
    if (c.failure === undefined && c.error === undefined && c.skipped === undefined) {
      L.push(`${head}/>`);
      continue;
    }
    L.push(`${head}>`);
    if (c.failure !== undefined) {
      L.push(
        `      <failure message="${escXml(c.failure)}" type="regression">${escXml(c.failure)}</failure>`,
      );
    }
    if (c.error !== undefined)
      L.push(`      <error message="${escXml(c.error)}" type="input">${escXml(c.error)}</error>`);
    if (c.skipped !== undefined) L.push(`      <skipped message="${escXml(c.skipped)}"/>`);
    L.push("    </testcase>");
  }
  L.push("  </testsuite>", "</testsuites>", "");
  return L.join("\n");
}
