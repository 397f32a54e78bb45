"""--threads auto: one thread per physical core up to a cap, fewer on a busy machine; explicit counts stay."""

import pytest

from tinyvae.models.ranges import ParameterError
from tinyvae.training import threads
from tinyvae.training.threads import CAP, auto_threads, physical_cores, resolve_threads, usable_cpus


def test_idle_machine_gets_one_thread_per_physical_core_up_to_the_cap():
    cores = physical_cores(usable_cpus())
    assert 1 <= cores <= len(usable_cpus())
    assert auto_threads(idle=64.0) == min(cores, CAP)
    assert auto_threads(cap=1, idle=64.0) == 1


def test_busy_machine_falls_back_to_what_the_other_processes_leave(monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: [0, 1, 2, 3])
    monkeypatch.setattr(threads, "physical_cores", lambda cpus: 4)
    assert auto_threads(idle=3.8) == 4
    assert auto_threads(idle=2.8) == 3
    assert auto_threads(idle=1.4) == 1
    assert auto_threads(idle=0.0) == 1  # never fewer than one


def test_idle_cpus_reads_proc_stat_or_says_it_cannot():
    idle = threads.idle_cpus(usable_cpus(), sample=0.05)
    assert idle is None or 0.0 <= idle <= len(usable_cpus()) + 1e-9


def _fake_proc_stat(monkeypatch, *snapshots: str) -> None:
    reads = iter(snapshots)

    class FakePath:
        def __init__(self, path: str) -> None:
            assert path == "/proc/stat"

        def read_text(self) -> str:
            return next(reads)

    monkeypatch.setattr(threads, "Path", FakePath)
    monkeypatch.setattr(threads.time, "sleep", lambda seconds: None)


def test_idle_cpus_counts_the_idle_and_iowait_share_of_each_cpus_ticks(monkeypatch):
    # fields: user nice system idle iowait irq softirq steal. Between the two reads cpu0 spends
    # 60 user + 10 system + 20 idle + 10 iowait ticks (idle 30 of 100), cpu1 100 idle ticks of 100.
    _fake_proc_stat(monkeypatch,
                    "cpu  0 0 0 0 0 0 0 0\ncpu0 100 0 50 200 5 0 0 0\ncpu1 7 0 3 300 0 0 0 0\nintr 1\n",
                    "cpu  9 9 9 9 9 9 9 9\ncpu0 160 0 60 220 15 0 0 0\ncpu1 7 0 3 400 0 0 0 0\nintr 2\n")
    assert threads.idle_cpus([0, 1]) == pytest.approx(0.3 + 1.0, rel=1e-12)


def test_idle_cpus_is_none_for_a_cpu_the_file_does_not_list(monkeypatch):
    _fake_proc_stat(monkeypatch, "cpu0 1 0 0 1 0 0 0 0\n", "cpu0 2 0 0 2 0 0 0 0\n")
    assert threads.idle_cpus([0, 1]) is None


def test_hyperthreads_count_once(monkeypatch, tmp_path):
    import re
    from pathlib import Path

    real = Path

    def fake(p: str):
        if p.startswith("/sys/devices/system/cpu/cpu"):
            c = int(re.search(r"cpu(\d+)/", p).group(1))
            f = tmp_path / f"c{c}"
            f.write_text(f"{c // 2 * 2},{c // 2 * 2 + 1}\n")  # cpus 0,1 share a core; 2,3 another
            return f
        return real(p)

    monkeypatch.setattr(threads, "Path", fake)
    assert physical_cores([0, 1, 2, 3]) == 2


@pytest.mark.parametrize("bad,shown", [("0", "0"), ("-2", "-2"), ("two", "'two'"), ("1.5", "'1.5'"), ("5000", "5,000"),
                                       (0, "0"), (True, "True"), (2.0, "2.0")])
def test_bad_counts_are_refused_by_name(bad, shown):
    with pytest.raises(ParameterError, match=f"^threads must be an integer from 1 to 1,024 or 'auto', got {shown}$"):
        resolve_threads(bad)


def test_explicit_and_auto():
    assert resolve_threads("3") == 3 and resolve_threads(2) == 2
    assert 1 <= resolve_threads("auto") <= CAP
