/**
 * The TCP state table, packet classes and valid flag combinations, checked cell by cell against the
 * reference's tables (kernel-conntrack.md §6.2, §6.3), transcribed here independently of
 * engine/conntrack/tcp-states.ts.
 */
import { describe, expect, it } from "vitest";
import {
  getConntrackIndex,
  TCP_CLASS_NAMES,
  TCP_STATE_NAMES,
  tcpCanEarlyDropState,
  tcpFlagsValid,
  tcpTransition,
} from "../engine/conntrack/tcp-states.js";

// Reference §6.3, copied as printed (columns = old state).
const COLS = ["sNO", "sSS", "sSR", "sES", "sFW", "sCW", "sLA", "sTW", "sCL", "sS2"];
const ORIGINAL = `
| SYN    | sSS | sSS | sIG | sIG | sIG | sIG | sIG | sSS | sSS | sS2 |
| SYNACK | sIV | sIV | sSR | sIV | sIV | sIV | sIV | sIV | sIV | sSR |
| FIN    | sIV | sIV | sFW | sFW | sLA | sLA | sLA | sTW | sCL | sIV |
| ACK    | sES | sIV | sES | sES | sCW | sCW | sTW | sTW | sCL | sIV |
| RST    | sIV | sCL | sCL | sCL | sCL | sCL | sCL | sCL | sCL | sCL |
| NONE   | sIV | sIV | sIV | sIV | sIV | sIV | sIV | sIV | sIV | sIV |`;
const REPLY = `
| SYN    | sIV | sS2 | sIV | sIV | sIV | sIV | sIV | sSS | sIV | sS2 |
| SYNACK | sIV | sSR | sIG | sIG | sIG | sIG | sIG | sIG | sIG | sSR |
| FIN    | sIV | sIV | sFW | sFW | sLA | sLA | sLA | sTW | sCL | sIV |
| ACK    | sIV | sIG | sSR | sES | sCW | sCW | sTW | sTW | sCL | sIG |
| RST    | sIV | sCL | sCL | sCL | sCL | sCL | sCL | sCL | sCL | sCL |
| NONE   | sIV | sIV | sIV | sIV | sIV | sIV | sIV | sIV | sIV | sIV |`;

// Kernel enum tcp_conntrack values by short name (reference §6.1).
const VALUE: Record<string, number> = {
  sNO: 0,
  sSS: 1,
  sSR: 2,
  sES: 3,
  sFW: 4,
  sCW: 5,
  sLA: 6,
  sTW: 7,
  sCL: 8,
  sS2: 9,
  sIV: 10,
  sIG: 11,
};
const CLASS: Record<string, number> = { SYN: 0, SYNACK: 1, FIN: 2, ACK: 3, RST: 4, NONE: 5 };

function parse(table: string): Array<[string, string, string]> {
  const cells: Array<[string, string, string]> = [];
  for (const line of table.trim().split("\n")) {
    const parts = line
      .split("|")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const cls = parts[0] as string;
    for (let c = 0; c < COLS.length; c++) cells.push([cls, COLS[c] as string, parts[c + 1] as string]);
  }
  return cells;
}

describe("tcp_conntracks (6.x)", () => {
  for (const [dirName, dir, table] of [
    ["ORIGINAL", 0, ORIGINAL],
    ["REPLY", 1, REPLY],
  ] as const) {
    const cells = parse(table);
    it(`${dirName}: 60 cells`, () => {
      expect(cells).toHaveLength(60);
    });
    it.each(cells)(`${dirName} %s in %s -> %s`, (cls, old, want) => {
      expect(tcpTransition(dir, CLASS[cls] as number, VALUE[old] as number)).toBe(VALUE[want]);
    });
  }

  // Cells the reference lists as changed against older kernels: the implementation has the new values.
  it.each([
    [0, "SYNACK", "sSR", "sSR", "sIG"],
    [0, "SYNACK", "sES", "sIV", "sIG"],
    [0, "SYNACK", "sFW", "sIV", "sIG"],
    [0, "SYNACK", "sCW", "sIV", "sIG"],
    [0, "SYNACK", "sLA", "sIV", "sIG"],
    [0, "SYNACK", "sTW", "sIV", "sIG"],
    [0, "SYNACK", "sCL", "sIV", "sIG"],
    [1, "SYN", "sTW", "sSS", "sIV"],
  ] as const)("dir %i %s in %s is %s (old kernels: %s)", (dir, cls, old, now, was) => {
    const got = tcpTransition(dir, CLASS[cls] as number, VALUE[old] as number);
    expect(got).toBe(VALUE[now]);
    expect(got).not.toBe(VALUE[was]);
  });
});

describe("state names", () => {
  it("match conntrack -L", () => {
    expect(TCP_STATE_NAMES).toEqual([
      "NONE",
      "SYN_SENT",
      "SYN_RECV",
      "ESTABLISHED",
      "FIN_WAIT",
      "CLOSE_WAIT",
      "LAST_ACK",
      "TIME_WAIT",
      "CLOSE",
      "SYN_SENT2",
    ]);
  });
});

// Wire flag bits.
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;
const ECE = 0x40;
const CWR = 0x80;

describe("get_conntrack_index (first match: RST, SYN, FIN, ACK)", () => {
  it.each([
    [SYN, "SYN"],
    [SYN | ACK, "SYNACK"],
    [FIN | ACK, "FIN"],
    [FIN, "FIN"],
    [ACK, "ACK"],
    [ACK | PSH, "ACK"],
    [RST, "RST"],
    [RST | ACK, "RST"],
    [RST | SYN | FIN | ACK, "RST"],
    [SYN | FIN, "SYN"],
    [0, "NONE"],
    [PSH | URG, "NONE"],
  ])("flags 0x%s -> %s", (flags, cls) => {
    expect(TCP_CLASS_NAMES[getConntrackIndex(flags)]).toBe(cls);
  });
});

describe("tcp_valid_flags", () => {
  const valid = new Set([
    SYN,
    SYN | URG,
    SYN | ACK,
    RST,
    RST | ACK,
    FIN | ACK,
    FIN | ACK | URG,
    ACK,
    ACK | URG,
  ]);
  it("accepts exactly the nine combinations, PSH/ECE/CWR ignored", () => {
    for (let f = 0; f < 256; f++) {
      const core = f & ~(PSH | ECE | CWR);
      expect(tcpFlagsValid(f), `flags 0x${f.toString(16)}`).toBe(valid.has(core));
    }
  });
  it.each([
    ["FIN alone", FIN],
    ["SYN|FIN", SYN | FIN],
    ["SYN|RST", SYN | RST],
    ["NULL", 0],
    ["XMAS", FIN | PSH | URG],
    ["all", 0xff],
  ])("%s is invalid", (_name, f) => {
    expect(tcpFlagsValid(f)).toBe(false);
  });
});

describe("tcp_can_early_drop", () => {
  it.each([
    ["NONE", false],
    ["SYN_SENT", false],
    ["SYN_RECV", false],
    ["ESTABLISHED", false],
    ["FIN_WAIT", true],
    ["CLOSE_WAIT", true],
    ["LAST_ACK", true],
    ["TIME_WAIT", true],
    ["CLOSE", true],
    ["SYN_SENT2", false],
  ])("%s -> %s", (name, want) => {
    expect(tcpCanEarlyDropState(TCP_STATE_NAMES.indexOf(name))).toBe(want);
  });
});
