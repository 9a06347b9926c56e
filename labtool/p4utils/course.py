"""What a lab or exercise runs of the course's own code: p4-utils control planes
(scripts, as `execScript('python control_plane.py', ...)` names them) and
simple_switch_CLI command files per switch. Manifests carry it as
    [course]
    scripts = ["control_plane.py"]
    commands = { s1 = "s1-commands.txt" }
and `labtool run <lab> --controller FILE --commands s1=FILE` puts one in place of
the lab's own controller."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LabtoolError


@dataclass(frozen=True)
class CourseScript:
    """A command as p4-utils' execScript takes it: `python control_plane.py arg ...`."""

    path: Path
    args: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def parse(cls, command: str, base: Path) -> CourseScript:
        """`python3 x.py a b`, `sudo python x.py`, or just `x.py`: the Python script and
        its arguments; anything else is not a script labtool can run in-process."""
        words = shlex.split(command)
        while words and words[0] in ("sudo", "-E", "env"):
            words.pop(0)
        if words and Path(words[0]).name.startswith("python"):
            words.pop(0)
            while words and words[0].startswith("-") and words[0] != "-":
                words.pop(0)  # interpreter flags (-u ...)
        if not words or not words[0].endswith(".py"):
            raise LabtoolError(f"{command!r}: labtool runs Python control planes "
                               "(`python script.py ...`); this command is not one")
        path = (base / words[0]).resolve()
        if not path.is_file():
            raise LabtoolError(f"{command!r}: {path} does not exist")
        return cls(path, tuple(words[1:]))


@dataclass(frozen=True)
class Course:
    scripts: tuple[CourseScript, ...] = ()
    commands: dict[str, Path] = field(default_factory=dict)  # switch -> command file

    @property
    def empty(self) -> bool:
        return not self.scripts and not self.commands

    def describe(self) -> str:
        parts = [f"{s.name}{' ' + ' '.join(s.args) if s.args else ''}" for s in self.scripts]
        parts += [f"{sw}={path.name}" for sw, path in self.commands.items()]
        return ", ".join(parts)
