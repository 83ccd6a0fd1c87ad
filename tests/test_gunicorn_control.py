"""gunicorn as enrich runs it (gunicorn.conf.py) opens no control socket."""

from tests.support.web import gunicorn


def test_gunicorn_opens_no_control_socket(tmp_path):
    # gunicorn 25.1+ opens one at $XDG_RUNTIME_DIR/gunicorn.ctl (else ~/.gunicorn/), the same
    # path for every gunicorn of a user: the tests' servers and make run's took it from each
    # other. enrich uses no gunicornc command, so none is opened.
    runtime, home = tmp_path / "run", tmp_path / "home"
    runtime.mkdir()
    home.mkdir()
    with gunicorn(XDG_RUNTIME_DIR=str(runtime), HOME=str(home)) as (_url, proc):
        assert proc.poll() is None
        assert sorted(p.name for p in tmp_path.rglob("*")) == ["home", "run"]
