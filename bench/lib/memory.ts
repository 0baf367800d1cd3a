import { readFileSync } from 'node:fs';

/** Kibibytes in a /proc/<pid>/status field such as VmRSS or VmHWM; undefined once the process is gone. */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) the process has used so far, in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name, which sits in parentheses and may hold spaces: utime and stime are 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ, which Linux fixes at 100 for /proc on every architecture it runs this on. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * Polls a process's resident set while work runs. VmHWM is the kernel's own high-water mark since the process
 * started, so a peak shorter than the poll interval is still caught; the samples show when it happened.
 */
export class RssSampler {
  private readonly samples: Array<{ atMs: number; rssMiB: number }> = [];
  private timer?: NodeJS.Timeout;
  private readonly started = performance.now();
  private hwmKiB = 0;
  private cpuAtStart = 0;
  /** Last seen, since a process that exits takes its /proc entry, and its count, with it. */
  private cpuLastSeen = 0;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.cpuAtStart = cpuSeconds(this.pid) ?? 0;
    this.cpuLastSeen = this.cpuAtStart;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  /** Stops polling: the peak (VmHWM) and largest sampled VmRSS in MiB, and the CPU seconds used since start. */
  stop(): { peakMiB: number; maxSampledMiB: number; samples: number; cpuSeconds: number } {
    this.sample();
    clearInterval(this.timer);
    const maxSampled = Math.max(0, ...this.samples.map((sample) => sample.rssMiB));
    const cpu = this.cpuLastSeen - this.cpuAtStart;
    return {
      peakMiB: Math.round(this.hwmKiB / 1024),
      maxSampledMiB: Math.round(maxSampled),
      samples: this.samples.length,
      cpuSeconds: Math.round(cpu * 100) / 100,
    };
  }

  private sample(): void {
    const rss = statusKiB(this.pid, 'VmRSS');
    const hwm = statusKiB(this.pid, 'VmHWM');
    if (rss !== undefined)
      this.samples.push({ atMs: Math.round(performance.now() - this.started), rssMiB: rss / 1024 });
    if (hwm !== undefined) this.hwmKiB = Math.max(this.hwmKiB, hwm);
    this.cpuLastSeen = cpuSeconds(this.pid) ?? this.cpuLastSeen;
  }
}
