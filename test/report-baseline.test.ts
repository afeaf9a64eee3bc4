import { describe, expect, it } from "vitest";
import {
  BASELINE_SCHEMA,
  type Baseline,
  CHECK_METRICS,
  checkCases,
  compareMetrics,
  metricsOf,
  parseTolerances,
  serializeBaseline,
  type Tolerances,
  validateBaseline,
} from "../engine/report/baseline.js";
import { sampleReport } from "./report-fixture.js";

const exact = parseTolerances([]) as Tolerances;

describe("baseline metrics and comparison", () => {
  const r = sampleReport();
  const m = metricsOf(r);
  it("takes metrics from the report", () => {
    expect(m.peak).toBe(r.peak.count);
    expect(m.drop).toBe(r.counters.drop);
    expect(m.memoryPeakBytes).toBe(r.memory.peakBytes);
  });
  it("identical metrics pass; growth beyond tolerance regresses; shrinkage is 'improved'", () => {
    expect(compareMetrics(m, m, exact).every((c) => c.verdict === "pass")).toBe(true);
    const worse = { ...m, peak: m.peak + 1, drop: m.drop - 5 };
    const res = compareMetrics(m, worse, exact);
    expect(res.find((c) => c.metric === "peak")!.verdict).toBe("regression");
    expect(res.find((c) => c.metric === "drop")!.verdict).toBe("improved");
    const tol = parseTolerances(["peak=1%"]) as Tolerances;
    const within = compareMetrics({ ...m, peak: 1000 }, { ...m, peak: 1010 }, tol);
    expect(within.find((c) => c.metric === "peak")!.verdict).toBe("pass");
    const beyond = compareMetrics({ ...m, peak: 1000 }, { ...m, peak: 1011 }, tol);
    expect(beyond.find((c) => c.metric === "peak")!.verdict).toBe("regression");
  });
  it("JUnit cases carry failures for regressions only", () => {
    const cases = checkCases("a.pcap", compareMetrics(m, { ...m, early_drop: m.early_drop + 3 }, exact));
    expect(cases).toHaveLength(CHECK_METRICS.length);
    const failed = cases.filter((c) => c.failure);
    expect(failed.map((c) => c.name)).toEqual(["early_drop"]);
    expect(failed[0]!.failure).toContain("+3");
  });
});

describe("tolerance parsing", () => {
  it("global, per metric, absolute and relative, later wins", () => {
    const t = parseTolerances(["5%", "drop=10,peak=2%"]) as Tolerances;
    expect(t.final).toEqual({ abs: 0, rel: 0.05 });
    expect(t.drop).toEqual({ abs: 10, rel: 0 });
    expect(t.peak).toEqual({ abs: 0, rel: 0.02 });
  });
  it("rejects unknown metrics and bad numbers", () => {
    expect(parseTolerances(["peek=1"])).toMatch(/unknown metric "peek"/);
    expect(parseTolerances(["peak=lots"])).toMatch(/bad tolerance/);
  });
});

describe("baseline file", () => {
  const b: Baseline = {
    schema: BASELINE_SCHEMA,
    tool: "ctreplay 0.1.0",
    captures: {
      "z.pcap": {
        metrics: metricsOf(sampleReport()),
        settings: { nf_conntrack_max: 150, nf_conntrack_buckets: 1024, hz: 250 },
      },
      "a.pcap": {
        metrics: metricsOf(sampleReport()),
        settings: { nf_conntrack_max: 150, nf_conntrack_buckets: 1024, hz: 250 },
      },
    },
  };
  it("round-trips, with sorted keys and a schema field", () => {
    const text = serializeBaseline(b);
    const back = validateBaseline(JSON.parse(text));
    expect(typeof back).not.toBe("string");
    expect(Object.keys((back as Baseline).captures)).toEqual(["a.pcap", "z.pcap"]);
    expect(serializeBaseline(back as Baseline)).toBe(text);
    expect(JSON.parse(text).schema).toBe("ctreplay.baseline/1");
  });
  it("rejects other schemas and malformed entries", () => {
    expect(validateBaseline({ schema: "ctreplay.baseline/0", captures: {} })).toMatch(/schema/);
    expect(validateBaseline({ schema: BASELINE_SCHEMA })).toMatch(/captures/);
    expect(validateBaseline(null)).toMatch(/not a JSON object/);
    expect(
      validateBaseline({ schema: BASELINE_SCHEMA, captures: { x: { metrics: { peak: "1" } } } }),
    ).toMatch(/"peak" is not a number/);
  });
});
