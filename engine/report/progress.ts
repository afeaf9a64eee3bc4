/**
 * Progress on stderr while a capture replays (cli-progress), only when stderr is a terminal, so piped
 * output and CI logs stay clean. Reports bytes read of the capture and the packets/s achieved.
 */
import cliProgress from "cli-progress";

export interface Progress {
  update(bytesRead: number, packets: number): void;
  stop(): void;
}

const NOOP: Progress = { update() {}, stop() {} };

export function startProgress(
  totalBytes: number | null,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!stream.isTTY || totalBytes === null || totalBytes <= 0) return NOOP;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {packets} packets | {pps} packets/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  bar.start(totalBytes, 0, { packets: 0, pps: 0 });
  return {
    update(bytesRead: number, packets: number): void {
      const s = (performance.now() - t0) / 1000;
      bar.update(Math.min(bytesRead, totalBytes), { packets, pps: s > 0 ? Math.round(packets / s) : 0 });
    },
    stop(): void {
      bar.stop();
    },
  };
}
