"""A sweep writing to a log (stderr not a terminal) says how far it is, in at most 20 lines."""

from qnetemu.sweep.runner import _Progress


def test_log_lines_every_twentieth(capsys):
    bar = _Progress(None, 100, 0)
    for k in range(100):
        bar.advance(1, 1 if k == 50 else 0)
    bar.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 20
    assert lines[0] == "sweep: 5/100 points done, 0 failed"
    assert lines[-1] == "sweep: 100/100 points done, 1 failed"


def test_small_sweep_gets_a_line_per_point_and_off_means_off(capsys):
    bar = _Progress(None, 3, 1)  # resumed: one point already done
    bar.advance(1, 0)
    bar.advance(1, 0)
    assert capsys.readouterr().err.splitlines() == ["sweep: 2/3 points done, 0 failed",
                                                    "sweep: 3/3 points done, 0 failed"]
    quiet = _Progress(False, 3, 0)
    quiet.advance(3, 0)
    assert capsys.readouterr().err == ""
