#!/usr/bin/env python3
"""Tells LeakSanitizer's own crashes apart from findings in a ctest log.

At exit, LeakSanitizer stops the process's threads from a tracer thread and
scans their memory. That tracer sometimes dies of SIGSEGV by itself ("Tracer
caught signal 11 ... LeakSanitizer has encountered a fatal error"), after the
test passed and with no leak found; it is a known, intermittent fault of the
sanitizer runtime (google/sanitizers issues 1170 and 1353), not of the code
under test. On the CI machine it crashed in __lsan::ScanRangeForPointers
(reading address 0xae8) on one test, first run and rerun alike, so
ci/sanitizers.sh reruns such a test with detect_leaks=0: the crash means no
leak check ran, and ASan and UBSan still check the rerun.

Usage: lsan-tracer-crash.py CTEST_OUTPUT_LOG
Exit 0 when every failed test in the log failed only that way (Catch2 said
"All tests passed", the tracer's fatal error follows, and no sanitizer report
or failed assertion is in the output); the names are printed. Exit 1 when any
failure is something else, or when no failure is found.
"""
import re
import sys

RESULT = re.compile(r"^\s*\d+/\d+ Test\s+#\d+: (.*?) \.+\s*(.*?)\s+[\d.]+ sec\s*$")
SUMMARY = re.compile(r"^\s*\d+ - (.*) \((.*)\)\s*$")
START = re.compile(r"^\s+Start\s+\d+: ")
END = re.compile(r"^\d+% tests passed")
FINDINGS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer: detected memory leaks",
            "runtime error:", "WARNING: ThreadSanitizer", "FAILED:", "test cases failed")


def main(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    failed = []  # (name, status, output lines)
    current = None
    for line in lines:
        m = RESULT.match(line)
        if m:
            current = None
            status = m.group(2).lstrip("*").strip()
            if status != "Passed":
                current = (m.group(1).strip(), status, [])
                failed.append(current)
            continue
        if START.match(line) or END.match(line):
            current = None
            continue
        if current is not None:
            current[2].append(line)
    if not failed:
        return 1
    # Every test the summary lists as failed must be one seen above.
    seen = {name for name, _, _ in failed}
    summary = lines[lines.index("The following tests FAILED:") + 1:] \
        if "The following tests FAILED:" in lines else []
    for line in summary:
        m = SUMMARY.match(line)
        if m and m.group(1) not in seen:
            print(f"lsan-tracer-crash: {m.group(1)}: {m.group(2)}, output not found")
            return 1
    for name, status, out in failed:
        text = "\n".join(out)
        tracer_only = (status == "Failed"
                       and "LeakSanitizer has encountered a fatal error" in text
                       and "All tests passed" in text
                       and not any(f in text for f in FINDINGS))
        if not tracer_only:
            print(f"lsan-tracer-crash: {name}: {status}, not the tracer's own crash")
            return 1
    for name, _, _ in failed:
        print(f"lsan-tracer-crash: {name}: passed, then LeakSanitizer's tracer crashed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
