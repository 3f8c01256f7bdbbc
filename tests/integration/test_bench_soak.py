"""rtm-bench soak, run for a few seconds: it starts its own rtmd, does every kind of operation
of its mixed load, checks every delivery, writes its samples, and fails loudly when rtmd dies.
The flatness verdict itself is pinned by tests/unit/soak_trend_test.cpp (a run this short is
not judged); the 20-minute figure is taken by hand (docs/benchmarks.md).

The binaries: $RTM_BENCH (else ../../build/bin/rtm-bench) and $RTMD (else the rtmd beside it).
"""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from rtmd_harness import clean_env, rtmd_binary

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "build", "bin", "rtm-bench"))
PLOT = os.path.normpath(os.path.join(HERE, "..", "..", "tools", "rtm-bench", "plot_soak.py"))

# A small, busy soak: few subscribers, sockets that drop every few seconds, fast channel tokens,
# uploads and password logins often enough that each kind happens within the run.
SHORT = ["--duration", "8", "--sample-interval", "1", "--subscribers", "40",
         "--ws-drop-every", "2", "--subscriber-drop-every", "10", "--channel-token-every", "3",
         "--rate", "uploads=2", "--rate", "password_logins=1"]


def bench_binary():
    return os.environ.get("RTM_BENCH") or DEFAULT_BENCH


def soak_command(*args):
    return [bench_binary(), "soak", "--rtmd", rtmd_binary()] + list(args)


class TestBenchSoak(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(bench_binary()):
            self.skipTest("rtm-bench not built at %s (set RTM_BENCH)" % bench_binary())
        self.tmp = tempfile.mkdtemp(prefix="rtm-soak-it-")
        if not os.environ.get("RTM_KEEP_TMP"):
            self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_short_soak_does_every_kind_of_operation_and_every_delivery_checks_out(self):
        csv_path = os.path.join(self.tmp, "samples.csv")
        p = subprocess.run(soak_command(*SHORT, "--csv", csv_path, "--json"), env=clean_env(),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "stdout: %s\nstderr: %s" % (p.stdout, p.stderr[-3000:]))
        r = json.loads(p.stdout)
        self.assertTrue(r["ok"], r["failures"])
        self.assertEqual(r["errors"], 0, r["errors_by_kind"])
        for op, count in r["ops"].items():
            self.assertGreater(count, 0, "no %s in the run: %s" % (op, r["ops"]))
        # Every acknowledged message reached each of its receivers, once.
        for stream in ("p2p", "group", "channel"):
            t = r[stream]
            self.assertEqual((t["missing"], t["duplicates"], t["unknown"]), (0, 0, 0), t)
        self.assertEqual(r["p2p"]["delivered"], r["p2p"]["acked"])
        self.assertEqual(r["group"]["delivered"], r["group"]["acked"] * 40)
        self.assertEqual(r["channel"]["delivered"], r["channel"]["acked"])
        self.assertEqual(r["p2p"]["acked"], r["ops"]["p2p_send"] + r["ops"]["upload"])
        self.assertEqual(r["event_id_breaks"], 0)
        self.assertEqual(r["ops"]["kill_seen"], r["ops"]["login_kill"])
        self.assertEqual(r["rtmd_exit"], 0)
        # Too short to judge flatness: said so, not passed off as flat.
        self.assertFalse(r["judged"])
        self.assertFalse(r["flat"])
        self.assertTrue(r["verdict"].startswith("not judged"), r["verdict"])
        self.assertGreater(r["rss_kib"]["max"], 0)
        self.assertGreater(r["fds"]["max"], 40)  # at least one socket per subscriber

        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertGreaterEqual(len(rows), 8)  # a sample a second, and the start
        for row in rows:
            self.assertGreater(int(row["rss_kib"]), 0)
            self.assertGreater(int(row["fds"]), 0)
        self.assertEqual(int(rows[-1]["errors"]), 0)
        times = [float(row["t_s"]) for row in rows]
        self.assertEqual(times, sorted(times))
        self.assertLessEqual(times[-1], 8.5)

        if subprocess.run(["/usr/bin/python3", "-c", "import matplotlib"],
                          capture_output=True).returncode == 0:
            png = os.path.join(self.tmp, "soak.png")
            subprocess.run(["/usr/bin/python3", PLOT, csv_path, png], check=True,
                           capture_output=True, timeout=60)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_soak_counts_events_a_session_dropped_as_missing_deliveries_and_fails(self):
        # Sessions that keep only 10 events and WebSockets that drop every second or so while
        # ~60 p2p messages a second reach each receiver: events go before the socket resumes.
        # The checks must see it (gap events, skipped ids, acknowledged sends not delivered).
        quiet = ["--rate", "group=0", "--rate", "token_logins=0", "--rate", "kills=0",
                 "--rate", "password_logins=0", "--rate", "uploads=0", "--rate", "channel=0"]
        p = subprocess.run(soak_command("--duration", "10", "--sample-interval", "1",
                                        "--subscribers", "10", "--scale", "10", "--queue-limit",
                                        "10", "--ws-drop-every", "1", "--json", *quiet),
                           env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stdout)
        r = json.loads(p.stdout)
        self.assertFalse(r["ok"])
        self.assertGreater(r["p2p"]["missing"], 0, r["p2p"])
        self.assertGreater(r["errors_by_kind"].get(
            "p2p WebSocket: check: gap event (events were dropped)", 0), 0, r["errors_by_kind"])
        self.assertTrue(any("not delivered" in f for f in r["failures"]), r["failures"])
        self.assertIn("ERROR p2p WebSocket: check: gap event", p.stderr)

    def test_soak_fails_loudly_when_its_rtmd_dies(self):
        proc = subprocess.Popen(soak_command("--duration", "60", "--sample-interval", "1",
                                             "--subscribers", "20"),
                                env=clean_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            pid = None
            progress = 0
            deadline = time.monotonic() + 60
            while progress < 2 and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line:
                    break
                m = re.search(r"rtmd pid (\d+)", line)
                if m:
                    pid = int(m.group(1))
                if line.startswith("["):
                    progress += 1
            self.assertIsNotNone(pid, "the soak did not say rtmd's pid")
            self.assertEqual(progress, 2, "no progress lines")
            os.kill(pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 1, out)
        self.assertIn("ERROR rtmd exited (status 137)", err)
        self.assertIn("FAILED: rtmd exited", out)


if __name__ == "__main__":
    unittest.main()
