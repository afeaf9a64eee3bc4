/**
 * Conntrack settings as operators hold them: the kernel's sysctl names and defaults (6.18, reference §5.1,
 * §8). The defaults table is data; parsing of profile files and --sysctl overrides lives in sysctl.ts.
 */

/** TCP conntrack states (enum tcp_conntrack), also indexes of the TCP timeout array. */
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_SYN_SENT2 = 9;
export const TCP_CONNTRACK_MAX = 10; // sIV
export const TCP_CONNTRACK_IGNORE = 11; // sIG
export const TCP_CONNTRACK_RETRANS = 12; // timeout index only
export const TCP_CONNTRACK_UNACK = 13; // timeout index only
export const TCP_CONNTRACK_TIMEOUT_MAX = 14;

/** SCTP conntrack states (enum sctp_conntrack, 6.x without HEARTBEAT_ACKED). */
export const SCTP_CONNTRACK_NONE = 0;
export const SCTP_CONNTRACK_CLOSED = 1;
export const SCTP_CONNTRACK_COOKIE_WAIT = 2;
export const SCTP_CONNTRACK_COOKIE_ECHOED = 3;
export const SCTP_CONNTRACK_ESTABLISHED = 4;
export const SCTP_CONNTRACK_SHUTDOWN_SENT = 5;
export const SCTP_CONNTRACK_SHUTDOWN_RECD = 6;
export const SCTP_CONNTRACK_SHUTDOWN_ACK_SENT = 7;
export const SCTP_CONNTRACK_HEARTBEAT_SENT = 8;
export const SCTP_CONNTRACK_MAX = 9;

/**
 * Every sysctl ctreplay understands, `net.netfilter.` prefix omitted, with its 6.18 default.
 * Timeouts are in seconds (the kernel stores jiffies and shows seconds).
 */
export const SYSCTL_DEFAULTS = {
  nf_conntrack_max: 262144,
  nf_conntrack_buckets: 262144,
  nf_conntrack_checksum: 1,
  nf_conntrack_acct: 0,
  nf_conntrack_timestamp: 0,
  nf_conntrack_events: 2,
  nf_conntrack_tcp_loose: 1,
  nf_conntrack_tcp_be_liberal: 0,
  nf_conntrack_tcp_ignore_invalid_rst: 0,
  nf_conntrack_tcp_max_retrans: 3,
  nf_conntrack_tcp_timeout_syn_sent: 120,
  nf_conntrack_tcp_timeout_syn_recv: 60,
  nf_conntrack_tcp_timeout_established: 432000,
  nf_conntrack_tcp_timeout_fin_wait: 120,
  nf_conntrack_tcp_timeout_close_wait: 60,
  nf_conntrack_tcp_timeout_last_ack: 30,
  nf_conntrack_tcp_timeout_time_wait: 120,
  nf_conntrack_tcp_timeout_close: 10,
  nf_conntrack_tcp_timeout_max_retrans: 300,
  nf_conntrack_tcp_timeout_unacknowledged: 300,
  nf_conntrack_udp_timeout: 30,
  nf_conntrack_udp_timeout_stream: 120,
  nf_conntrack_icmp_timeout: 30,
  nf_conntrack_icmpv6_timeout: 30,
  nf_conntrack_gre_timeout: 30,
  nf_conntrack_gre_timeout_stream: 180,
  nf_conntrack_generic_timeout: 600,
  nf_conntrack_sctp_timeout_closed: 10,
  nf_conntrack_sctp_timeout_cookie_wait: 3,
  nf_conntrack_sctp_timeout_cookie_echoed: 3,
  nf_conntrack_sctp_timeout_established: 210,
  nf_conntrack_sctp_timeout_shutdown_sent: 3,
  nf_conntrack_sctp_timeout_shutdown_recd: 3,
  nf_conntrack_sctp_timeout_shutdown_ack_sent: 3,
  nf_conntrack_sctp_timeout_heartbeat_sent: 30,
} as const;

export type SysctlName = keyof typeof SYSCTL_DEFAULTS;
export type SysctlValues = Record<SysctlName, number>;

/** Resolved settings the engine runs with (timeouts converted to jiffies once). */
export interface CtSettings {
  /** Jiffies per second used to convert capture time (CONFIG_HZ; default 250). */
  readonly hz: number;
  /** The raw sysctl values (seconds for timeouts). */
  readonly sysctl: Readonly<SysctlValues>;
  readonly max: number;
  readonly buckets: number;
  readonly checksum: boolean;
  readonly tcpLoose: boolean;
  readonly tcpBeLiberal: boolean;
  readonly tcpIgnoreInvalidRst: boolean;
  readonly tcpMaxRetrans: number;
  /** TCP timeouts in jiffies indexed by TCP_CONNTRACK_* (incl. SYN_SENT2 = 120 s, RETRANS, UNACK). */
  readonly tcpTimeouts: Uint32Array;
  /** SCTP timeouts in jiffies indexed by SCTP_CONNTRACK_*. */
  readonly sctpTimeouts: Uint32Array;
  readonly udpTimeout: number;
  readonly udpTimeoutStream: number;
  readonly icmpTimeout: number;
  readonly icmpv6Timeout: number;
  readonly greTimeout: number;
  readonly greTimeoutStream: number;
  readonly genericTimeout: number;
}

/** Builds engine settings from sysctl values (seconds) at a given HZ. */
export function resolveSettings(values: Partial<SysctlValues> = {}, hz = 250): CtSettings {
  const s: SysctlValues = { ...SYSCTL_DEFAULTS, ...values };
  const j = (sec: number): number => Math.round(sec * hz) >>> 0;
  const tcp = new Uint32Array(TCP_CONNTRACK_TIMEOUT_MAX);
  tcp[TCP_CONNTRACK_NONE] = 0;
  tcp[TCP_CONNTRACK_SYN_SENT] = j(s.nf_conntrack_tcp_timeout_syn_sent);
  tcp[TCP_CONNTRACK_SYN_RECV] = j(s.nf_conntrack_tcp_timeout_syn_recv);
  tcp[TCP_CONNTRACK_ESTABLISHED] = j(s.nf_conntrack_tcp_timeout_established);
  tcp[TCP_CONNTRACK_FIN_WAIT] = j(s.nf_conntrack_tcp_timeout_fin_wait);
  tcp[TCP_CONNTRACK_CLOSE_WAIT] = j(s.nf_conntrack_tcp_timeout_close_wait);
  tcp[TCP_CONNTRACK_LAST_ACK] = j(s.nf_conntrack_tcp_timeout_last_ack);
  tcp[TCP_CONNTRACK_TIME_WAIT] = j(s.nf_conntrack_tcp_timeout_time_wait);
  tcp[TCP_CONNTRACK_CLOSE] = j(s.nf_conntrack_tcp_timeout_close);
  tcp[TCP_CONNTRACK_SYN_SENT2] = j(120); // no sysctl: tcp_timeouts[] table value
  tcp[TCP_CONNTRACK_RETRANS] = j(s.nf_conntrack_tcp_timeout_max_retrans);
  tcp[TCP_CONNTRACK_UNACK] = j(s.nf_conntrack_tcp_timeout_unacknowledged);
  const sctp = new Uint32Array(SCTP_CONNTRACK_MAX);
  sctp[SCTP_CONNTRACK_CLOSED] = j(s.nf_conntrack_sctp_timeout_closed);
  sctp[SCTP_CONNTRACK_COOKIE_WAIT] = j(s.nf_conntrack_sctp_timeout_cookie_wait);
  sctp[SCTP_CONNTRACK_COOKIE_ECHOED] = j(s.nf_conntrack_sctp_timeout_cookie_echoed);
  sctp[SCTP_CONNTRACK_ESTABLISHED] = j(s.nf_conntrack_sctp_timeout_established);
  sctp[SCTP_CONNTRACK_SHUTDOWN_SENT] = j(s.nf_conntrack_sctp_timeout_shutdown_sent);
  sctp[SCTP_CONNTRACK_SHUTDOWN_RECD] = j(s.nf_conntrack_sctp_timeout_shutdown_recd);
  sctp[SCTP_CONNTRACK_SHUTDOWN_ACK_SENT] = j(s.nf_conntrack_sctp_timeout_shutdown_ack_sent);
  sctp[SCTP_CONNTRACK_HEARTBEAT_SENT] = j(s.nf_conntrack_sctp_timeout_heartbeat_sent);
  return {
    hz,
    sysctl: s,
    max: s.nf_conntrack_max,
    buckets: s.nf_conntrack_buckets,
    checksum: s.nf_conntrack_checksum !== 0,
    tcpLoose: s.nf_conntrack_tcp_loose !== 0,
    tcpBeLiberal: s.nf_conntrack_tcp_be_liberal !== 0,
    tcpIgnoreInvalidRst: s.nf_conntrack_tcp_ignore_invalid_rst !== 0,
    tcpMaxRetrans: s.nf_conntrack_tcp_max_retrans,
    tcpTimeouts: tcp,
    sctpTimeouts: sctp,
    udpTimeout: j(s.nf_conntrack_udp_timeout),
    udpTimeoutStream: j(s.nf_conntrack_udp_timeout_stream),
    icmpTimeout: j(s.nf_conntrack_icmp_timeout),
    icmpv6Timeout: j(s.nf_conntrack_icmpv6_timeout),
    greTimeout: j(s.nf_conntrack_gre_timeout),
    greTimeoutStream: j(s.nf_conntrack_gre_timeout_stream),
    genericTimeout: j(s.nf_conntrack_generic_timeout),
  };
}
