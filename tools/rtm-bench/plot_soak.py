#!/usr/bin/python3
"""Draws the CSV of `rtm-bench soak --csv FILE` as a PNG: rtmd's RSS (MiB) and open
descriptors over the run, with the part the flatness verdict judges (after the first quarter)
shaded and the medians it compares (middle: 45-55 % of the run, end: the last 10 %) marked.

    /usr/bin/python3 tools/rtm-bench/plot_soak.py soak.csv docs/soak-rss.png [--title TEXT]

Needs Debian's python3-matplotlib (apt-get install python3-matplotlib); only the docs need the
plot, so `make test` does not install it.
"""

import argparse
import csv
import statistics
import sys


def read_samples(path):
    t, rss, fds, sessions = [], [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if int(row["rss_kib"]) < 0 or int(row["fds"]) < 0:
                continue
            t.append(float(row["t_s"]) / 60.0)
            rss.append(int(row["rss_kib"]) / 1024.0)
            fds.append(int(row["fds"]))
            sessions.append(float(row["sessions"]) if row.get("sessions") else None)
    return t, rss, fds, sessions


def window_median(t, v, lo, hi):
    inside = [y for x, y in zip(t, v) if lo <= x <= hi]
    return statistics.median(inside) if inside else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", help="samples written by rtm-bench soak --csv")
    ap.add_argument("png", help="where to write the plot")
    ap.add_argument("--title", default="rtm-bench soak: rtmd over the run")
    args = ap.parse_args()

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot_soak.py: needs matplotlib (apt-get install python3-matplotlib)")

    t, rss, fds, sessions = read_samples(args.csv)
    if len(t) < 2:
        sys.exit("plot_soak.py: %s has fewer than two samples" % args.csv)
    t0, t1 = t[0], t[-1]
    span = t1 - t0

    fig, (ax_rss, ax_fd) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                        gridspec_kw={"height_ratios": [3, 2]})
    fig.suptitle(args.title)
    for ax in (ax_rss, ax_fd):
        ax.axvspan(t0 + 0.25 * span, t1, color="0.93", zorder=0)
        ax.grid(True, color="0.85", linewidth=0.6)

    ax_rss.plot(t, rss, color="tab:blue", linewidth=1.2, label="RSS (VmRSS)")
    for lo, hi, name in ((0.45, 0.55, "middle"), (0.90, 1.0, "end")):
        m = window_median(t, rss, t0 + lo * span, t0 + hi * span)
        if m is not None:
            ax_rss.hlines(m, t0 + lo * span, t0 + hi * span, colors="tab:red", linewidth=2.5)
            ax_rss.annotate("%s %.1f MiB" % (name, m), (t0 + hi * span, m),
                            textcoords="offset points", xytext=(-4, 6), ha="right",
                            fontsize=8, color="tab:red")
    top = max(rss)
    ax_rss.set_ylim(0, top * 1.15)
    ax_rss.set_ylabel("rtmd RSS, MiB")
    ax_rss.legend(loc="lower right", fontsize=8)

    ax_fd.plot(t, fds, color="tab:green", linewidth=1.2, label="open descriptors")
    if any(s is not None for s in sessions):
        ax_fd.plot(t, [s if s is not None else float("nan") for s in sessions],
                   color="tab:orange", linewidth=1.0, linestyle="--", label="rtm_sessions")
    ax_fd.set_ylim(0, max(max(fds), max((s for s in sessions if s is not None), default=0)) * 1.2)
    ax_fd.set_ylabel("count")
    ax_fd.set_xlabel("minutes of load (shaded: the part the slope is judged on)")
    ax_fd.legend(loc="lower right", fontsize=8)

    fig.tight_layout()
    fig.savefig(args.png, dpi=110)
    print("plot_soak.py: wrote %s (%d samples, %.1f min)" % (args.png, len(t), span))


if __name__ == "__main__":
    main()
