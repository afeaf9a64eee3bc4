/**
 * Differential test against the live kernel on 400 seeded random TCP flows (test/helpers/tcp-fuzz.ts,
 * fuzzFlows(400, 7): 4071 packets). They were written as a pcap (client 10.1.0.1:40000+k, server
 * 10.2.0.1:80), injected into Linux 6.18.44 with the kernel oracle (--speed 1, default sysctls) and the
 * table dumped 2.959 s after the first packet. KERNEL lists every entry the kernel printed: flow, which side
 * is ORIGINAL (c/s: a reopen by the server makes it the originator), state, A(SSURED)/U(NREPLIED),
 * remaining seconds. Flows not listed had no entry. The kernel counted 1217 invalid packets.
 * (The same flows replayed from the oracle's replayed.pcap through ctreplay end to end matched entry for
 * entry, also with tcp_loose=0, tcp_be_liberal=1, tcp_ignore_invalid_rst=1 and tcp_max_retrans=0.)
 */
import { describe, expect, it } from "vitest";
import { V_ACCEPT, V_REPEAT } from "../engine/conntrack/l4proto.js";
import { Conn } from "./helpers/tcp-fake.js";
import { fuzzFlows } from "./helpers/tcp-fuzz.js";

const DUMP = 2.959;
const INVALID_KERNEL = 1217;

const KERNEL = `
f0 c SYN_RECV -- 57
f1 s LAST_ACK -- 28
f2 c ESTABLISHED A- 297
f3 c SYN_SENT2 -- 117
f4 c ESTABLISHED A- 431997
f5 c CLOSE A- 8
f6 c ESTABLISHED A- 297
f7 c ESTABLISHED A- 299
f8 c SYN_SENT -- 117
f9 c CLOSE -- 7
f10 c CLOSE -- 8
f11 c CLOSE A- 7
f12 s ESTABLISHED A- 431997
f13 c SYN_SENT -U 118
f14 c CLOSE_WAIT A- 58
f15 c LAST_ACK A- 27
f16 c ESTABLISHED A- 297
f17 c CLOSE_WAIT -- 57
f18 c CLOSE_WAIT A- 58
f19 c CLOSE A- 7
f20 c LAST_ACK A- 27
f21 s CLOSE A- 8
f22 c ESTABLISHED A- 297
f23 c CLOSE -- 7
f24 c ESTABLISHED A- 431997
f25 c SYN_RECV A- 57
f26 c SYN_SENT -- 117
f27 c FIN_WAIT A- 117
f28 c CLOSE -- 7
f29 c SYN_RECV -- 57
f30 c ESTABLISHED A- 431997
f31 c CLOSE -- 8
f32 c CLOSE_WAIT A- 57
f33 c ESTABLISHED A- 431997
f34 c CLOSE_WAIT A- 57
f35 c FIN_WAIT A- 117
f36 c ESTABLISHED A- 297
f37 c TIME_WAIT A- 117
f38 c SYN_SENT -U 117
f39 c ESTABLISHED A- 431997
f40 c CLOSE A- 7
f41 c ESTABLISHED A- 297
f42 s CLOSE_WAIT A- 57
f43 c TIME_WAIT A- 118
f44 c CLOSE_WAIT A- 58
f45 c ESTABLISHED A- 297
f46 s CLOSE -- 8
f47 c FIN_WAIT A- 118
f48 c ESTABLISHED A- 297
f49 c CLOSE -- 7
f50 c ESTABLISHED A- 297
f51 c SYN_RECV -- 57
f52 c ESTABLISHED A- 297
f53 c ESTABLISHED A- 298
f54 c CLOSE -- 7
f55 c SYN_SENT -- 116
f56 s CLOSE -- 7
f57 c CLOSE A- 7
f58 c ESTABLISHED A- 431997
f59 c ESTABLISHED A- 431997
f60 c SYN_RECV A- 57
f61 c CLOSE -- 7
f62 c SYN_SENT -- 117
f63 c TIME_WAIT -- 117
f64 c CLOSE A- 7
f65 c ESTABLISHED A- 431997
f66 c SYN_SENT2 -- 117
f67 c ESTABLISHED A- 297
f68 s FIN_WAIT A- 117
f69 c FIN_WAIT A- 117
f70 c CLOSE_WAIT -- 58
f71 c CLOSE A- 7
f72 c CLOSE A- 7
f73 c SYN_RECV -- 57
f74 c CLOSE -- 7
f75 c SYN_SENT -- 117
f76 s SYN_RECV -- 58
f77 c CLOSE -- 8
f78 c SYN_RECV -- 57
f79 c SYN_SENT -- 117
f80 c ESTABLISHED A- 431997
f81 s CLOSE A- 9
f82 s ESTABLISHED A- 431997
f83 c ESTABLISHED -U 297
f84 c ESTABLISHED A- 297
f85 c CLOSE A- 8
f86 c ESTABLISHED A- 298
f87 c SYN_SENT -- 117
f88 c ESTABLISHED A- 298
f89 s CLOSE A- 7
f90 c CLOSE_WAIT A- 57
f91 c SYN_SENT -- 117
f92 c SYN_RECV -- 57
f93 c FIN_WAIT A- 117
f94 c SYN_SENT -U 117
f95 c ESTABLISHED A- 297
f96 c ESTABLISHED A- 431997
f97 c TIME_WAIT A- 118
f98 c SYN_RECV -- 57
f99 c ESTABLISHED A- 298
f100 s CLOSE_WAIT A- 58
f101 c FIN_WAIT A- 117
f102 c LAST_ACK A- 27
f103 c ESTABLISHED A- 297
f104 c ESTABLISHED A- 297
f105 c ESTABLISHED A- 431997
f106 c SYN_SENT -- 117
f107 c TIME_WAIT -- 117
f108 c TIME_WAIT A- 117
f109 c CLOSE A- 9
f111 c ESTABLISHED -- 297
f112 s ESTABLISHED A- 297
f113 c CLOSE -- 8
f114 c CLOSE -- 8
f115 c SYN_SENT -- 117
f116 c SYN_SENT -- 117
f117 c SYN_RECV A- 57
f118 c SYN_SENT2 -- 117
f119 c ESTABLISHED A- 431997
f120 c SYN_RECV -- 57
f121 c CLOSE -- 8
f122 c CLOSE A- 7
f123 c ESTABLISHED A- 431997
f124 c FIN_WAIT A- 118
f125 c CLOSE -- 8
f126 c SYN_SENT2 -- 117
f127 s CLOSE_WAIT -- 58
f128 c SYN_SENT -- 117
f129 c ESTABLISHED A- 298
f130 c ESTABLISHED A- 297
f131 c ESTABLISHED A- 297
f132 c TIME_WAIT A- 118
f133 c SYN_SENT -- 117
f134 c CLOSE_WAIT A- 58
f135 c CLOSE -- 9
f136 c CLOSE A- 8
f137 c CLOSE A- 7
f138 c ESTABLISHED A- 297
f139 s ESTABLISHED -- 297
f140 c CLOSE A- 8
f141 c ESTABLISHED A- 297
f142 c ESTABLISHED A- 431997
f143 c CLOSE -- 7
f144 c ESTABLISHED A- 431997
f145 c ESTABLISHED A- 431997
f146 c ESTABLISHED A- 431997
f147 s ESTABLISHED A- 298
f148 c CLOSE -- 7
f149 c FIN_WAIT A- 117
f150 c ESTABLISHED A- 7
f151 c CLOSE A- 7
f152 c ESTABLISHED A- 431997
f153 c CLOSE -- 7
f154 s LAST_ACK A- 28
f155 c CLOSE A- 7
f156 c SYN_SENT -- 117
f157 c ESTABLISHED A- 431998
f158 c ESTABLISHED A- 297
f159 c TIME_WAIT A- 118
f160 c CLOSE -- 9
f161 c CLOSE A- 8
f162 c SYN_RECV A- 57
f163 c LAST_ACK A- 27
f164 c SYN_SENT -U 118
f165 c LAST_ACK A- 27
f167 s CLOSE_WAIT -- 57
f168 c SYN_SENT -- 118
f169 s CLOSE -- 7
f170 c CLOSE A- 8
f171 s ESTABLISHED A- 431997
f172 c LAST_ACK A- 27
f173 c SYN_SENT -- 117
f174 c LAST_ACK -- 28
f175 c CLOSE -- 7
f176 c ESTABLISHED A- 298
f177 c SYN_SENT -- 117
f178 c SYN_RECV -- 57
f179 c SYN_RECV -- 57
f180 c SYN_SENT -- 117
f181 c ESTABLISHED A- 431997
f182 c TIME_WAIT A- 117
f183 c ESTABLISHED A- 431997
f184 c CLOSE A- 7
f185 c CLOSE A- 8
f186 c ESTABLISHED A- 431997
f187 c ESTABLISHED -- 297
f188 c SYN_SENT -- 117
f189 c ESTABLISHED A- 298
f190 c ESTABLISHED A- 431997
f191 c TIME_WAIT -- 117
f192 c CLOSE A- 7
f193 c CLOSE -- 7
f194 c SYN_RECV -- 57
f195 c CLOSE A- 8
f196 c ESTABLISHED A- 297
f197 c ESTABLISHED A- 431997
f198 s CLOSE -- 8
f199 c ESTABLISHED A- 297
f200 c FIN_WAIT A- 117
f201 c SYN_SENT -U 117
f202 c ESTABLISHED A- 431997
f203 s CLOSE -- 7
f204 c SYN_SENT -- 117
f205 s CLOSE_WAIT A- 57
f206 c CLOSE A- 8
f207 c CLOSE -- 7
f208 c SYN_SENT -- 117
f209 c SYN_SENT -- 117
f211 c SYN_SENT -- 117
f212 c CLOSE -- 7
f213 c ESTABLISHED A- 431997
f214 c TIME_WAIT A- 117
f215 c FIN_WAIT -- 117
f216 c SYN_RECV -- 57
f217 c ESTABLISHED A- 297
f218 c FIN_WAIT A- 118
f219 c CLOSE -- 7
f220 c ESTABLISHED A- 297
f221 s FIN_WAIT A- 117
f222 c CLOSE_WAIT -- 59
f223 c SYN_SENT2 -- 117
f224 c CLOSE A- 8
f225 c FIN_WAIT -- 117
f226 c ESTABLISHED A- 297
f227 c ESTABLISHED A- 298
f228 c ESTABLISHED A- 297
f229 c SYN_RECV -- 58
f230 s CLOSE_WAIT -- 57
f231 c TIME_WAIT A- 118
f232 c FIN_WAIT A- 117
f233 c ESTABLISHED A- 431997
f234 c FIN_WAIT A- 118
f235 c CLOSE -- 8
f236 c CLOSE -- 7
f237 c SYN_RECV -- 57
f238 c CLOSE_WAIT A- 57
f239 c SYN_SENT -- 117
f240 c FIN_WAIT A- 118
f241 c ESTABLISHED A- 297
f242 c CLOSE_WAIT -- 57
f243 c TIME_WAIT -- 117
f244 c TIME_WAIT A- 118
f245 c TIME_WAIT -- 117
f247 c SYN_RECV -- 57
f248 c CLOSE_WAIT -- 57
f249 c ESTABLISHED A- 297
f250 c SYN_SENT -U 117
f251 c SYN_SENT -- 117
f252 c ESTABLISHED A- 431997
f253 c ESTABLISHED A- 297
f254 c FIN_WAIT A- 117
f255 c SYN_SENT2 -- 117
f256 s ESTABLISHED A- 298
f257 c ESTABLISHED A- 297
f258 s CLOSE A- 7
f259 c FIN_WAIT A- 117
f260 c TIME_WAIT A- 119
f261 c FIN_WAIT A- 117
f262 s CLOSE_WAIT A- 58
f263 c SYN_SENT -U 117
f264 c CLOSE A- 7
f265 c SYN_RECV A- 58
f266 c CLOSE_WAIT A- 57
f267 c ESTABLISHED A- 297
f268 c CLOSE A- 8
f269 c SYN_SENT -- 117
f270 c SYN_SENT -- 117
f271 c CLOSE A- 8
f272 c CLOSE -- 7
f273 c SYN_SENT2 -- 117
f274 c SYN_RECV A- 58
f275 c ESTABLISHED A- 431997
f276 c ESTABLISHED A- 298
f277 c SYN_SENT -- 117
f278 c CLOSE A- 7
f279 c SYN_RECV -- 57
f280 c ESTABLISHED A- 431997
f281 c SYN_SENT -- 117
f282 c SYN_RECV -- 57
f283 s SYN_RECV -- 58
f284 c TIME_WAIT -- 117
f285 c ESTABLISHED A- 431997
f286 c ESTABLISHED A- 431997
f287 c CLOSE_WAIT A- 57
f288 c SYN_SENT -- 117
f289 s CLOSE_WAIT -- 57
f290 c SYN_SENT -- 117
f291 c ESTABLISHED A- 297
f292 c FIN_WAIT -- 117
f293 c CLOSE -- 7
f294 c CLOSE_WAIT -- 58
f295 c SYN_SENT -U 117
f296 c FIN_WAIT -- 117
f297 c CLOSE A- 8
f298 c CLOSE -- 8
f299 c ESTABLISHED A- 297
f300 c ESTABLISHED A- 431998
f301 c TIME_WAIT A- 117
f302 c SYN_RECV A- 57
f303 s ESTABLISHED A- 297
f304 c CLOSE -- 7
f305 c ESTABLISHED A- 431997
f306 c CLOSE -- 7
f307 c ESTABLISHED A- 297
f308 c SYN_SENT -- 116
f309 c SYN_SENT -- 117
f310 c CLOSE -- 7
f311 c CLOSE_WAIT A- 57
f312 c CLOSE -- 7
f313 c CLOSE A- 7
f314 c SYN_SENT -- 117
f315 c ESTABLISHED A- 431998
f316 s ESTABLISHED A- 431997
f317 c CLOSE A- 8
f318 c SYN_RECV A- 58
f319 c CLOSE -- 8
f320 c FIN_WAIT A- 119
f321 c SYN_SENT -- 117
f322 s FIN_WAIT A- 117
f323 c ESTABLISHED A- 298
f324 c CLOSE_WAIT A- 58
f325 c CLOSE A- 7
f326 c ESTABLISHED A- 298
f327 c CLOSE A- 7
f328 c ESTABLISHED -U 297
f329 c CLOSE -- 8
f330 s ESTABLISHED A- 297
f331 s CLOSE_WAIT A- 57
f332 c ESTABLISHED A- 297
f334 c CLOSE_WAIT A- 58
f335 c CLOSE A- 9
f336 c ESTABLISHED A- 431997
f337 c SYN_SENT -- 117
f339 c CLOSE A- 8
f340 c SYN_SENT -- 117
f341 c SYN_SENT -- 117
f342 c ESTABLISHED A- 431997
f343 c SYN_SENT -U 117
f344 c SYN_SENT2 -- 118
f345 c CLOSE -- 8
f346 c CLOSE -- 7
f347 c ESTABLISHED A- 298
f348 c SYN_SENT -- 117
f349 c CLOSE A- 8
f350 c CLOSE A- 7
f351 c SYN_SENT -- 117
f352 c SYN_SENT -U 117
f353 c TIME_WAIT A- 118
f354 c CLOSE -- 7
f355 c FIN_WAIT A- 117
f356 c SYN_SENT -- 117
f357 c CLOSE -- 8
f358 c CLOSE_WAIT A- 57
f359 c ESTABLISHED A- 297
f360 c SYN_RECV -- 57
f361 c SYN_RECV A- 58
f362 c SYN_RECV A- 57
f363 c ESTABLISHED A- 431997
f364 c TIME_WAIT A- 118
f365 c CLOSE -- 7
f366 c ESTABLISHED A- 297
f367 c ESTABLISHED -U 297
f368 c ESTABLISHED A- 431997
f369 c CLOSE A- 8
f370 c ESTABLISHED A- 297
f371 c SYN_RECV A- 57
f372 s ESTABLISHED -- 297
f373 c CLOSE A- 7
f374 c ESTABLISHED A- 297
f375 c SYN_SENT -- 117
f376 c ESTABLISHED A- 298
f377 c SYN_SENT -U 116
f378 c ESTABLISHED -- 297
f379 c ESTABLISHED A- 297
f380 c CLOSE -- 7
f381 c ESTABLISHED A- 298
f382 c ESTABLISHED A- 431997
f383 c ESTABLISHED A- 297
f384 s FIN_WAIT A- 118
f385 s TIME_WAIT -- 117
f386 c CLOSE -- 8
f387 c ESTABLISHED A- 298
f388 s CLOSE -- 8
f389 c SYN_SENT -- 117
f390 c FIN_WAIT A- 117
f391 c ESTABLISHED A- 298
f392 c TIME_WAIT -- 117
f393 c LAST_ACK A- 28
f394 c SYN_SENT -- 117
f395 c ESTABLISHED A- 431998
f396 s ESTABLISHED A- 431997
f397 s SYN_SENT -- 117
f398 c FIN_WAIT A- 118
f399 c ESTABLISHED A- 297
`;

const want = new Map(
  KERNEL.trim()
    .split("\n")
    .map((l) => {
      const [name, orig, state, flags, timeout] = l.split(" ");
      return [name!, { orig: orig!, state: state!, flags: flags!, timeout: Number(timeout) }] as const;
    }),
);

const flows = fuzzFlows(400, 7);

describe("400 random TCP flows vs the live 6.18 kernel", () => {
  it("generator is stable (same flows as the ones the kernel saw)", () => {
    expect(flows).toHaveLength(400);
    expect(flows.reduce((n, f) => n + f.pkts.length, 0)).toBe(4071);
  });

  it("every flow: entry or not, ORIGINAL side, state, flags, timeout within 1 s", () => {
    const bad: string[] = [];
    let invalid = 0;
    for (const f of flows) {
      const c = new Conn();
      for (const p of f.pkts) {
        const v = c.send(p.side, p.seg, p.t).verdict;
        if (v !== V_ACCEPT && v !== V_REPEAT) invalid++;
      }
      const w = want.get(f.name);
      const alive = c.alive(DUMP);
      const got = alive
        ? `${c.origSide} ${c.state()} ${c.assured() ? "A" : "-"}${c.unreplied() ? "U" : "-"}`
        : "absent";
      const exp = w ? `${w.orig} ${w.state} ${w.flags}` : "absent";
      if (got !== exp) bad.push(`${f.name}: model ${got}, kernel ${exp}`);
      else if (w && Math.abs(Math.floor(c.remaining(DUMP)) - w.timeout) > 1)
        bad.push(`${f.name}: timeout model ${c.remaining(DUMP)}, kernel ${w.timeout}`);
    }
    expect(bad).toEqual([]);
    expect(invalid).toBe(INVALID_KERNEL);
  });
});
