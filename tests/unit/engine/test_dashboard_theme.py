"""``frontdesk dashboard`` gives Streamlit the dashboard's own theme, the agent console's palette,
whatever directory it is started from."""

from __future__ import annotations

from pathlib import Path

from frontdesk.engine.__main__ import _theme_flags

THEME = Path(__file__).resolve().parents[3] / "dashboard" / ".streamlit" / "config.toml"
CONSOLE_CSS = Path(__file__).resolve().parents[3] / "engine" / "web" / "shared" / "base.css"


def test_the_theme_becomes_flags_with_the_consoles_primary_colour() -> None:
    flags = _theme_flags(THEME)
    assert "--theme.primaryColor=#0a58ca" in flags
    assert "--primary: #0a58ca;" in CONSOLE_CSS.read_text()
    assert "--theme.textColor=#1b1f24" in flags and "--theme.base=light" in flags
    assert not [f for f in flags if "ff4b4b" in f.lower()]     # Streamlit's default red is nowhere


def test_no_theme_file_means_no_flags(tmp_path: Path) -> None:
    assert _theme_flags(tmp_path / "missing.toml") == []
