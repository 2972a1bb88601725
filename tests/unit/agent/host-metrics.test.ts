import assert from "node:assert/strict";
import {
  cpuAndKernel,
  disks,
  filesystemSamples,
  load,
  memory,
  mountPoints,
  network,
  uptime,
} from "../../../domain/agent/host-metrics.ts";
import type { AgentSample } from "../../../domain/agent/native-batch.ts";

const find = (samples: AgentSample[], metric: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);

Deno.test("host metrics: /proc/stat gives CPU seconds per cpu and mode, and kernel counters", () => {
  const stat = [
    "cpu  83016 5 21776 73458 1049 7 564 3328 11 0",
    "cpu0 40149 0 10475 38949 322 0 84 1619 0 0",
    "cpu1 42867 5 11301 34508 727 7 480 1708 11 0",
    "intr 1288059 0 0 0",
    "ctxt 5549426",
    "btime 1796148567",
    "processes 16856",
    "procs_running 6",
    "procs_blocked 1",
  ].join("\n");
  const samples = cpuAndKernel(stat);
  const table: [string, Record<string, string>, number][] = [
    ["node_cpu_seconds_total", { cpu: "0", mode: "user" }, 401.49],
    ["node_cpu_seconds_total", { cpu: "1", mode: "nice" }, 0.05],
    ["node_cpu_seconds_total", { cpu: "1", mode: "irq" }, 0.07],
    ["node_cpu_seconds_total", { cpu: "1", mode: "steal" }, 17.08],
    ["node_context_switches_total", {}, 5549426],
    ["node_boot_time_seconds", {}, 1796148567],
    ["node_forks_total", {}, 16856],
    ["node_intr_total", {}, 1288059],
    ["node_procs_running", {}, 6],
    ["node_procs_blocked", {}, 1],
  ];
  for (const [metric, labels, value] of table) {
    assert.deepEqual(find(samples, metric, labels), [value], metric);
  }
  // The aggregate "cpu" line is not a CPU; guest time is already in user and nice.
  assert.equal(find(samples, "node_cpu_seconds_total").length, 2 * 8);
  assert.deepEqual(find(samples, "node_cpu_seconds_total", { mode: "guest" }), []);
});

Deno.test("host metrics: load, memory, uptime", () => {
  const l = load("7.73 5.09 2.58 7/271 16856\n");
  assert.deepEqual(l.map((s) => [s.metric, s.value]), [
    ["node_load1", 7.73],
    ["node_load5", 5.09],
    ["node_load15", 2.58],
    ["node_processes_threads", 271],
  ]);
  const m = memory("MemTotal:       24684084 kB\nActive(anon):     1000 kB\nHugePages_Total:       0\n");
  assert.deepEqual(m.map((s) => [s.metric, s.value]), [
    ["node_memory_MemTotal_bytes", 24684084 * 1024],
    ["node_memory_Active_anon_bytes", 1024000],
    ["node_memory_HugePages_Total", 0],
  ]);
  assert.deepEqual(uptime("918.38 734.58\n"), [{ metric: "node_uptime_seconds", labels: {}, value: 918.38 }]);
});

Deno.test("host metrics: network per interface and whole disks only", () => {
  const netDev = [
    "Inter-|   Receive                                                |  Transmit",
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
    "  eth0: 2362965062   51386    3    4    0     0          0         0  2854858   32068    5    6    0     0       0          0",
  ].join("\n");
  const n = network(netDev);
  assert.deepEqual(find(n, "node_network_receive_bytes_total", { device: "eth0" }), [2362965062]);
  assert.deepEqual(find(n, "node_network_receive_errs_total", { device: "eth0" }), [3]);
  assert.deepEqual(find(n, "node_network_transmit_packets_total", { device: "eth0" }), [32068]);
  assert.deepEqual(find(n, "node_network_transmit_drop_total", { device: "eth0" }), [6]);
  const diskstats = [
    " 254       0 vda 102003 7913 4142282 263239 70701 83679 31099776 288204 2 36952 561957",
    " 254       1 vda1 100 0 200 3 4 0 8 9 0 1 2",
    "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0",
  ].join("\n");
  const d = disks(diskstats);
  assert.deepEqual([...new Set(d.map((s) => s.labels.device))], ["vda"]);
  assert.deepEqual(find(d, "node_disk_read_bytes_total"), [4142282 * 512]);
  assert.deepEqual(find(d, "node_disk_written_bytes_total"), [31099776 * 512]);
  assert.deepEqual(find(d, "node_disk_write_time_seconds_total"), [288.204]);
  assert.deepEqual(find(d, "node_disk_io_now"), [2]);
});

Deno.test("host metrics: real filesystems only, with their space", () => {
  const mounts = mountPoints(
    "proc /proc proc rw 0 0\n/dev/vda / ext4 rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n/dev/vdb /mnt/my\\040disk xfs rw 0 0\n",
  );
  assert.deepEqual(mounts.map((m) => m.mountpoint), ["/", "/dev/shm", "/mnt/my disk"]);
  const fs = filesystemSamples(mounts[0], {
    bsize: 4096,
    blocks: 100,
    bfree: 40,
    bavail: 30,
    files: 10,
    ffree: 7,
  });
  assert.deepEqual(fs.map((s) => [s.metric, s.value]), [
    ["node_filesystem_size_bytes", 409600],
    ["node_filesystem_free_bytes", 163840],
    ["node_filesystem_avail_bytes", 122880],
    ["node_filesystem_files", 10],
    ["node_filesystem_files_free", 7],
  ]);
  assert.deepEqual(fs[0].labels, { device: "/dev/vda", mountpoint: "/", fstype: "ext4" });
});
