#!/usr/bin/env python3
"""`giltrace report --html FILE`: one self-contained page.

On a synthetic two-process convoy trace: the page references nothing
outside itself (no http(s) URL, no src or href but data: URIs and
anchors, no <link>); headless Chromium (no network, a throw-away profile)
runs the page's own check, which sets <html data-check="OK"> once every
table has rows and every picture (the timeline and the charts) decoded;
the tables of both processes are there; and a screenshot is taken
(GILTRACE_KEEP_SHOTS=DIR keeps it to look at).

usage: test_report_html.py GILTRACE TRACE_GEN
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    giltrace, trace_gen = sys.argv[1:3]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory(prefix="giltrace-html-") as tmp:
        trace, page = os.path.join(tmp, "t.db"), os.path.join(tmp, "report.html")
        subprocess.run([trace_gen, "-o", trace, "--events", "4000", "--pattern", "convoy", "--processes", "2",
                        "--threads", "3"], check=True, timeout=60, stdout=subprocess.DEVNULL)
        r = subprocess.run([giltrace, "report", "--html", page, trace], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"report --html exited {r.returncode}: {r.stderr}"
        html = open(page, encoding="utf-8").read()
        print(f"report --html: {len(html)} bytes")
        outside = re.findall(r"https?://", html)
        assert not outside, f"the page names URLs: {outside[:3]}"
        refs = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert refs and all(x.startswith("data:image/png;base64,") or x.startswith("#") for x in refs), \
            f"references outside the page: {[x[:40] for x in refs if not x.startswith('data:')]}"
        assert "<link" not in html, "the page links a stylesheet"
        assert len(re.findall(r"<img ", html)) == 2, "not two pictures (timeline, charts)"
        assert len(re.findall(r"<h3>Threads</h3>", html)) == 2, "not a thread table per process"
        if not chromium:
            print("SKIP: chromium is not installed (apt-get install chromium); the page was checked as text only")
            return 77
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + os.path.join(tmp, "profile"), "--virtual-time-budget=5000"]
        url = "file://" + page
        dom = subprocess.run(["timeout", "120"] + base + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=150)
        m = re.search(r'<html[^>]*data-check="([^"]*)"', dom.stdout)
        print("page's own check:", m.group(1) if m else "(did not run)")
        assert m and m.group(1) == "OK", "the page's own check did not pass"
        shot = os.path.join(tmp, "report.png")
        subprocess.run(["timeout", "120"] + base + ["--hide-scrollbars", "--force-device-scale-factor=1",
                                                    "--window-size=1300,2000", "--screenshot=" + shot, url],
                       capture_output=True, timeout=150)
        assert os.path.getsize(shot) > 10000, "no screenshot"
        keep = os.environ.get("GILTRACE_KEEP_SHOTS")
        if keep:
            shutil.copy(shot, os.path.join(keep, "report-html.png"))
            shutil.copy(page, os.path.join(keep, "report.html"))
        print(f"screenshot: {os.path.getsize(shot)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
