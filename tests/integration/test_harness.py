"""The harness's own checks that the other modules rely on: a sanitizer report on rtmd's
stderr fails the test class even when every answer was right (`make asan` runs the suite
against an ASan+UBSan rtmd and counts on it)."""

import os
import unittest

from rtmd_harness import Rtmd, sanitizer_report

ASAN_REPORT = """[2026-12-02 10:00:00.000] [info] rtmd.started
=================================================================
==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010
READ of size 8 at 0x602000000010 thread T3
    #0 0x55d0 in rtm::Session::queue() src/core/session.cpp:88
"""
UBSAN_REPORT = "src/core/engine.cpp:120:17: runtime error: signed integer overflow\n"
CLEAN_LOG = "[info] rtmd.started listen=127.0.0.1:1 store=sqlite\n[info] rtmd.stopped\n"


class SanitizerReports(unittest.TestCase):
    def test_asan_report_is_found_from_its_first_line(self):
        report = sanitizer_report(ASAN_REPORT)
        self.assertIsNotNone(report)
        self.assertTrue(report.startswith("==4242==ERROR: AddressSanitizer: heap-use-after-free"))
        self.assertIn("session.cpp:88", report)

    def test_ubsan_runtime_error_is_a_report(self):
        self.assertIn("signed integer overflow", sanitizer_report(UBSAN_REPORT))

    def test_a_clean_log_has_no_report(self):
        self.assertIsNone(sanitizer_report(CLEAN_LOG))

    def test_cleanup_fails_when_any_run_printed_a_report_and_keeps_the_files(self):
        r = Rtmd()
        try:
            r.runs = 2
            for run, text in ((1, CLEAN_LOG), (2, UBSAN_REPORT)):
                with open(os.path.join(r.tmp, "stderr.%d.log" % run), "w") as f:
                    f.write(text)
            with self.assertRaises(AssertionError) as caught:
                r.cleanup()
            self.assertIn("run 2: src/core/engine.cpp:120:17: runtime error", str(caught.exception))
            self.assertTrue(os.path.isdir(r.tmp), "the logs stay for the reader")
        finally:
            r.runs = 0
            r.cleanup()
        self.assertFalse(os.path.exists(r.tmp))

    def test_cleanup_of_clean_runs_removes_the_files(self):
        r = Rtmd()
        r.runs = 1
        with open(os.path.join(r.tmp, "stderr.1.log"), "w") as f:
            f.write(CLEAN_LOG)
        r.cleanup()
        self.assertFalse(os.path.exists(r.tmp))


if __name__ == "__main__":
    unittest.main()
