"""Match and parameter values as students write them, normalised for finsy.

Accepted: ints; strings "10.0.0.1", "00:00:0a:00:00:01", "0x1f", "42";
LPM "10.0.0.0/24"; ternary "v&&&mask" (as in simple_switch_CLI); range
"lo..hi"; also (value, prefix_len) for LPM. finsy's own spellings ("v/&mask",
"lo...hi") are accepted too, since we only translate ours into them.
"""

from __future__ import annotations

import re
from typing import Any

_RANGE = re.compile(r"^(?P<lo>[^.][^\s]*?[^.]|[^.])\.\.(?P<hi>[^.].*)$")


def normalise(value: Any) -> Any:
    """Translate labtool/CLI spellings into the ones finsy's encoders parse."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a bool; give a number")
    if isinstance(value, str):
        text = value.strip()
        if "&&&" in text:
            v, _, mask = text.partition("&&&")
            return f"{v.strip()}/&{mask.strip()}"
        if "..." not in text:
            m = _RANGE.match(text)
            if m:
                return f"{m['lo']}...{m['hi']}"
        return text
    return value
