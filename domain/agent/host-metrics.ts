/**
 * Host metrics from the text of Linux's `/proc` files, named and labelled as
 * node_exporter names them, so dashboards and alert rules written for node_exporter
 * work unchanged. Pure: the agent reads the files and passes their contents in.
 *
 * | file              | metrics                                                                 |
 * | ----------------- | ----------------------------------------------------------------------- |
 * | `/proc/stat`      | `node_cpu_seconds_total{cpu,mode}`, `node_boot_time_seconds`, `node_context_switches_total`, `node_forks_total`, `node_intr_total`, `node_procs_running`, `node_procs_blocked` |
 * | `/proc/loadavg`   | `node_load1`, `node_load5`, `node_load15`, `node_processes_threads`     |
 * | `/proc/meminfo`   | `node_memory_<Field>_bytes` (kB × 1024), unitless fields without `_bytes` |
 * | `/proc/net/dev`   | `node_network_{receive,transmit}_{bytes,packets,errs,drop}_total{device}` |
 * | `/proc/diskstats` | `node_disk_{reads,writes}_completed_total`, `node_disk_{read,written}_bytes_total`, `node_disk_{read,write}_time_seconds_total`, `node_disk_io_now`, `node_disk_io_time_seconds_total` `{device}`, whole disks only |
 * | `/proc/uptime`    | `node_uptime_seconds` (node_exporter has only the boot time)            |
 *
 * Filesystem space comes from `statfs` per mount point (`filesystemSamples`).
 *
 * @example
 * const samples = [...cpuAndKernel(await Deno.readTextFile("/proc/stat"))];
 */
import type { Labels } from "../series.ts";
import type { AgentSample } from "./native-batch.ts";

/** Clock ticks per second of `/proc/stat` (USER_HZ), 100 on every Linux architecture in use. */
const USER_HZ = 100;
const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;
const NO_LABELS: Labels = Object.freeze({});

export function cpuAndKernel(stat: string): AgentSample[] {
  const out: AgentSample[] = [];
  for (const line of stat.split("\n")) {
    const fields = line.trim().split(/\s+/);
    const name = fields[0];
    if (name.startsWith("cpu") && name.length > 3) {
      const cpu = name.slice(3);
      // guest and guest_nice are already counted in user and nice.
      for (let m = 0; m < CPU_MODES.length && m + 1 < fields.length; m++) {
        out.push({
          metric: "node_cpu_seconds_total",
          labels: { cpu, mode: CPU_MODES[m] },
          value: Number(fields[m + 1]) / USER_HZ,
        });
      }
      continue;
    }
    const single = KERNEL_COUNTERS[name];
    if (single !== undefined) out.push({ metric: single, labels: NO_LABELS, value: Number(fields[1]) });
  }
  return out;
}

const KERNEL_COUNTERS: Readonly<Record<string, string>> = {
  btime: "node_boot_time_seconds",
  ctxt: "node_context_switches_total",
  processes: "node_forks_total",
  intr: "node_intr_total",
  procs_running: "node_procs_running",
  procs_blocked: "node_procs_blocked",
};

export function load(loadavg: string): AgentSample[] {
  const [one, five, fifteen, entities] = loadavg.trim().split(/\s+/);
  const out: AgentSample[] = [
    { metric: "node_load1", labels: NO_LABELS, value: Number(one) },
    { metric: "node_load5", labels: NO_LABELS, value: Number(five) },
    { metric: "node_load15", labels: NO_LABELS, value: Number(fifteen) },
  ];
  const slash = entities?.indexOf("/") ?? -1;
  if (slash > 0) {
    out.push({
      metric: "node_processes_threads",
      labels: NO_LABELS,
      value: Number(entities.slice(slash + 1)),
    });
  }
  return out;
}

export function memory(meminfo: string): AgentSample[] {
  const out: AgentSample[] = [];
  for (const line of meminfo.split("\n")) {
    const match = /^([^:]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (match === null) continue;
    const field = match[1].replace(/\((.*)\)/, "_$1").replace(/[^a-zA-Z0-9_]/g, "_");
    const kb = match[3] !== undefined;
    out.push({
      metric: `node_memory_${field}${kb ? "_bytes" : ""}`,
      labels: NO_LABELS,
      value: Number(match[2]) * (kb ? 1024 : 1),
    });
  }
  return out;
}

const NET_FIELDS: readonly [number, string][] = [
  [0, "receive_bytes"],
  [1, "receive_packets"],
  [2, "receive_errs"],
  [3, "receive_drop"],
  [8, "transmit_bytes"],
  [9, "transmit_packets"],
  [10, "transmit_errs"],
  [11, "transmit_drop"],
];

export function network(netDev: string): AgentSample[] {
  const out: AgentSample[] = [];
  for (const line of netDev.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0 || line.includes("|")) continue;
    const device = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    for (const [index, name] of NET_FIELDS) {
      out.push({ metric: `node_network_${name}_total`, labels: { device }, value: Number(fields[index]) });
    }
  }
  return out;
}

/** Partitions and virtual devices, as node_exporter's default device exclude. */
const NOT_A_DISK = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]+|nvme\d+n\d+p|mmcblk\d+p)\d+$/;
const SECTOR_BYTES = 512;

export function disks(diskstats: string): AgentSample[] {
  const out: AgentSample[] = [];
  for (const line of diskstats.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const device = f[2];
    if (NOT_A_DISK.test(device)) continue;
    const labels = { device };
    const n = (i: number) => Number(f[i]);
    out.push(
      { metric: "node_disk_reads_completed_total", labels, value: n(3) },
      { metric: "node_disk_read_bytes_total", labels, value: n(5) * SECTOR_BYTES },
      { metric: "node_disk_read_time_seconds_total", labels, value: n(6) / 1000 },
      { metric: "node_disk_writes_completed_total", labels, value: n(7) },
      { metric: "node_disk_written_bytes_total", labels, value: n(9) * SECTOR_BYTES },
      { metric: "node_disk_write_time_seconds_total", labels, value: n(10) / 1000 },
      { metric: "node_disk_io_now", labels, value: n(11) },
      { metric: "node_disk_io_time_seconds_total", labels, value: n(12) / 1000 },
    );
  }
  return out;
}

export function uptime(text: string): AgentSample[] {
  return [{ metric: "node_uptime_seconds", labels: NO_LABELS, value: Number(text.trim().split(/\s+/)[0]) }];
}

export interface MountPoint {
  readonly device: string;
  readonly mountpoint: string;
  readonly fstype: string;
}

/** Pseudo and virtual filesystems whose space means nothing, as node_exporter skips them. */
const PSEUDO_FS = new Set([
  "autofs",
  "binfmt_misc",
  "bpf",
  "cgroup",
  "cgroup2",
  "configfs",
  "debugfs",
  "devpts",
  "devtmpfs",
  "fusectl",
  "hugetlbfs",
  "iso9660",
  "mqueue",
  "nsfs",
  "overlay",
  "proc",
  "procfs",
  "pstore",
  "rpc_pipefs",
  "securityfs",
  "selinuxfs",
  "squashfs",
  "sysfs",
  "tracefs",
]);

/** The mounts of `/proc/mounts` whose space is worth reporting. */
export function mountPoints(mounts: string): MountPoint[] {
  const out: MountPoint[] = [];
  for (const line of mounts.split("\n")) {
    const [device, mountpoint, fstype] = line.split(" ");
    if (fstype === undefined || PSEUDO_FS.has(fstype)) continue;
    if (/^\/(dev|proc|sys|run\/credentials|var\/lib\/docker)(\/|$)/.test(mountpoint) && fstype !== "tmpfs") {
      continue;
    }
    out.push({ device, mountpoint: mountpoint.replace(/\\040/g, " "), fstype });
  }
  return out;
}

export interface FilesystemStats {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
  readonly files: number;
  readonly ffree: number;
}

export function filesystemSamples(mount: MountPoint, stats: FilesystemStats): AgentSample[] {
  const labels = { device: mount.device, mountpoint: mount.mountpoint, fstype: mount.fstype };
  return [
    { metric: "node_filesystem_size_bytes", labels, value: stats.blocks * stats.bsize },
    { metric: "node_filesystem_free_bytes", labels, value: stats.bfree * stats.bsize },
    { metric: "node_filesystem_avail_bytes", labels, value: stats.bavail * stats.bsize },
    { metric: "node_filesystem_files", labels, value: stats.files },
    { metric: "node_filesystem_files_free", labels, value: stats.ffree },
  ];
}
