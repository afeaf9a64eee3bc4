/**
 * One TCP connection as both endpoints would write it: sequence numbers, acks, windows and options stay
 * consistent (every segment in-window for nf_conntrack's tcp_in_window), FIN consumes one sequence number.
 * dir 0 = client -> server (the conntrack ORIGINAL direction), dir 1 = server -> client.
 * The object is reset in place and reused for every connection a flow slot generates.
 */
import type { FrameEmitter } from "./frame.js";
import {
  OPT_NONE,
  OPT_SYN_LINUX,
  OPT_SYN_MSS,
  OPT_SYN_WS,
  OPT_TS,
  TH_ACK,
  TH_FIN,
  TH_PSH,
  TH_RST,
  TH_SYN,
} from "./frame.js";
import type { Sfc32 } from "./prng.js";

/** Client stack flavours: which options the handshake carries. */
export const STACK_LINUX = 0; // MSS,SACK_PERM,TS,WS=7; data with TS; window 502<<7
export const STACK_WINDOWS = 1; // MSS,WS=8,SACK_PERM; data without options; window 251<<8
export const STACK_PLAIN = 2; // MSS only; no scaling; window 64240

export class TcpConv {
  v6 = false;
  readonly c = new Uint8Array(16);
  readonly s = new Uint8Array(16);
  cport = 0;
  sport = 0;
  isnC = 0;
  isnS = 0;
  /** Next sequence number each side sends. */
  sndC = 0;
  sndS = 0;
  stack = STACK_LINUX;
  private tsBaseC = 0;
  private tsBaseS = 0;
  ipIdC = 0;
  ipIdS = 0;

  constructor(
    private readonly em: FrameEmitter,
    private readonly rng: Sfc32,
  ) {}

  /** New connection; addresses/ports are set by the caller in c, s, cport, sport, v6. */
  reset(stack: number): void {
    this.stack = stack;
    this.isnC = this.rng.u32();
    this.isnS = this.rng.u32();
    this.sndC = this.isnC;
    this.sndS = this.isnS;
    this.tsBaseC = this.rng.u32();
    this.tsBaseS = this.rng.u32();
    this.ipIdC = this.rng.int(65536);
    this.ipIdS = this.rng.int(65536);
  }

  private synOpt(): number {
    return this.stack === STACK_LINUX
      ? OPT_SYN_LINUX
      : this.stack === STACK_WINDOWS
        ? OPT_SYN_WS
        : OPT_SYN_MSS;
  }

  private window(): number {
    return this.stack === STACK_LINUX ? 502 : this.stack === STACK_WINDOWS ? 251 : 64240;
  }

  private send(
    t: number,
    dir: number,
    flags: number,
    len: number,
    opt: number,
    win: number,
    ackLag = 0,
  ): void {
    const em = this.em;
    const ms = Math.floor(t / 1000);
    const payOff = len > 0 ? em.pool.offset(this.rng) : 0;
    if (dir === 0) {
      const seq = this.sndC;
      const ack = flags & TH_ACK ? this.sndS - ackLag : 0;
      em.tcp(
        t,
        this.v6,
        this.c,
        this.s,
        this.cport,
        this.sport,
        seq,
        ack,
        flags,
        win,
        opt,
        this.tsBaseC + ms,
        flags & TH_ACK ? this.tsBaseS + ms - 1 : 0,
        len,
        payOff,
        this.ipIdC++,
      );
    } else {
      const seq = this.sndS;
      const ack = flags & TH_ACK ? this.sndC - ackLag : 0;
      em.tcp(
        t,
        this.v6,
        this.s,
        this.c,
        this.sport,
        this.cport,
        seq,
        ack,
        flags,
        win,
        opt,
        this.tsBaseS + ms,
        this.tsBaseC + ms - 1,
        len,
        payOff,
        this.ipIdS++,
      );
    }
  }

  private dataOpt(): number {
    return this.stack === STACK_LINUX ? OPT_TS : OPT_NONE;
  }

  /** Client SYN (also a retransmission: always carries the ISN). */
  syn(t: number): void {
    this.sndC = this.isnC;
    this.send(t, 0, TH_SYN, 0, this.synOpt(), 64240);
    this.sndC = (this.isnC + 1) >>> 0;
  }

  synAck(t: number): void {
    this.sndS = this.isnS;
    this.send(t, 1, TH_SYN | TH_ACK, 0, this.synOpt(), 65160);
    this.sndS = (this.isnS + 1) >>> 0;
  }

  /** Pure ACK from dir. */
  ack(t: number, dir: number): void {
    this.send(t, dir, TH_ACK, 0, this.dataOpt(), this.window());
  }

  /** A data segment of len bytes from dir (PSH|ACK when psh). */
  data(t: number, dir: number, len: number, psh: boolean): void {
    this.send(t, dir, TH_ACK | (psh ? TH_PSH : 0), len, this.dataOpt(), this.window());
    if (dir === 0) this.sndC = (this.sndC + len) >>> 0;
    else this.sndS = (this.sndS + len) >>> 0;
  }

  /**
   * FIN|ACK from dir; FIN consumes one sequence number. `crossing`: the peer's FIN is on the wire but not
   * yet received (simultaneous close), so it is not acknowledged.
   */
  fin(t: number, dir: number, crossing = false): void {
    this.send(t, dir, TH_FIN | TH_ACK, 0, this.dataOpt(), this.window(), crossing ? 1 : 0);
    if (dir === 0) this.sndC = (this.sndC + 1) >>> 0;
    else this.sndS = (this.sndS + 1) >>> 0;
  }

  /** RST from dir at the sender's next sequence number (RST|ACK when withAck), as an aborting stack sends it. */
  rst(t: number, dir: number, withAck: boolean): void {
    this.send(t, dir, TH_RST | (withAck ? TH_ACK : 0), 0, OPT_NONE, 0);
  }

  /** Server refusing the SYN (closed port): RST|ACK, seq 0, ack = ISN + 1 (tcp_v4_send_reset). */
  refuse(t: number): void {
    this.sndS = 0;
    this.send(t, 1, TH_RST | TH_ACK, 0, OPT_NONE, 0);
  }
}
