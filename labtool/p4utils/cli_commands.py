"""`simple_switch_CLI` command files (`s1-commands.txt`), applied through labtool.

One command per line, as the course writes them:
    table_add repeater forward 1 => 2
    table_set_default ipv4_lpm drop
    mirroring_add 100 4
    mc_mgrp_create 1
    mc_node_create 0 1 2 3
    mc_node_associate 1 0
Blank lines and `#` comments are skipped. Each command goes through the Thrift-
compatible API (thrift_api.py), so it reaches the switch over its P4Runtime control
plane. An error names the file, the line and the command; reads print their
result as simple_switch_CLI would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..controlplane import SwitchControl
from ..errors import ControlPlaneError, LabtoolError
from .common import did_you_mean
from .thrift_api import SimpleSwitchThriftAPI


class CommandError(LabtoolError):
    """A command of a command file failed; the message names file and line."""


def _ints(words: list[str]) -> list[int]:
    return [int(w, 0) for w in words]


def _rates(words: list[str]) -> list[tuple[float, int]]:
    out = []
    for word in words:
        rate, sep, burst = word.partition(":")
        if not sep:
            raise ControlPlaneError(f"meter rate {word!r} must be written rate:burst")
        out.append((float(rate), int(burst)))
    return out


def _bool(word: str) -> bool:
    if word.lower() in ("true", "1"):
        return True
    if word.lower() in ("false", "0"):
        return False
    raise ControlPlaneError(f"{word!r} is not true/false")


class CommandRunner:
    """Applies command lines to one switch."""

    def __init__(self, api: SimpleSwitchThriftAPI) -> None:
        self.api = api
        self.commands: dict[str, Callable[[list[str]], Any]] = {
            "table_add": self.table_add,
            "table_set_default": lambda w: api.table_set_default(w[0], w[1], w[2:]),
            "table_reset_default": lambda w: api.table_reset_default(w[0]),
            "table_modify": self.table_modify,
            "table_delete": lambda w: api.table_delete(w[0], int(w[1])),
            "table_clear": lambda w: api.table_clear(w[0]),
            "table_num_entries": lambda w: print(api.table_num_entries(w[0])),
            "table_dump": lambda w: api.table_dump(w[0]),
            "mc_mgrp_create": lambda w: api.mc_mgrp_create(int(w[0])),
            "mc_mgrp_destroy": lambda w: api.mc_mgrp_destroy(int(w[0])),
            "mc_node_create": self.mc_node_create,
            "mc_node_update": self.mc_node_update,
            "mc_node_associate": lambda w: api.mc_node_associate(int(w[0]), int(w[1])),
            "mc_node_dissociate": lambda w: api.mc_node_dissociate(int(w[0]), int(w[1])),
            "mc_node_destroy": lambda w: api.mc_node_destroy(int(w[0])),
            "mc_dump": lambda w: api.mc_dump(),
            "mirroring_add": lambda w: api.mirroring_add(int(w[0]), int(w[1])),
            "mirroring_delete": lambda w: api.mirroring_delete(int(w[0])),
            "counter_read": self.counter_read,
            "counter_write": lambda w: api.counter_write(w[0], int(w[1]), int(w[2]), int(w[3])),
            "counter_reset": lambda w: api.counter_reset(w[0]),
            "register_read": self.register_read,
            "register_write": lambda w: api.register_write(w[0], int(w[1], 0), int(w[2], 0)),
            "register_reset": lambda w: api.register_reset(w[0]),
            "meter_set_rates": lambda w: api.meter_set_rates(w[0], int(w[1]), _rates(w[2:])),
            "meter_array_set_rates": lambda w: api.meter_array_set_rates(w[0], _rates(w[1:])),
            "meter_get_rates": lambda w: print(api.meter_get_rates(w[0], int(w[1]))),
            "set_queue_depth": lambda w: api.set_queue_depth(*_ints(w)),
            "set_queue_rate": lambda w: api.set_queue_rate(*_ints(w)),
            "set_crc16_parameters": lambda w: api.set_crc16_parameters(
                w[0], int(w[1], 0), int(w[2], 0), int(w[3], 0), _bool(w[4]), _bool(w[5])),
            "set_crc32_parameters": lambda w: api.set_crc32_parameters(
                w[0], int(w[1], 0), int(w[2], 0), int(w[3], 0), _bool(w[4]), _bool(w[5])),
            "reset_state": lambda w: api.reset_state(),
            "show_tables": lambda w: api.show_tables(),
            "show_actions": lambda w: api.show_actions(),
            "table_show_actions": lambda w: api.table_show_actions(w[0]),
        }

    def table_add(self, words: list[str]) -> None:
        """table_add <table> <action> <keys...> => <params...> [priority]"""
        if "=>" not in words:
            raise ControlPlaneError("table_add needs '=>' between the match keys and the "
                                    "action parameters (write `=>` even when there are none)")
        at = words.index("=>")
        table, action, keys, params = words[0], words[1], words[2:at], words[at + 1:]
        tables = self.api._tables
        if tables.key(tables.table(table), keys).needs_priority:
            if not params:
                raise ControlPlaneError(f"table {table} has ternary/range keys: end the line "
                                        "with a priority")
            params, prio = params[:-1], int(params[-1])
        else:
            prio = 0
        self.api.table_add(table, action, keys, params, prio)

    def table_modify(self, words: list[str]) -> None:
        """table_modify <table> <action> <handle> [=>] <params...>"""
        params = [w for w in words[3:] if w != "=>"]
        self.api.table_modify(words[0], words[1], int(words[2]), params)

    def mc_node_create(self, words: list[str]) -> None:
        ports, _, lags = " ".join(words[1:]).partition("|")
        handle = self.api.mc_node_create(int(words[0]), _ints(ports.split()),
                                         _ints(lags.split()) or None)
        print(f"node was created with handle {handle}")

    def mc_node_update(self, words: list[str]) -> None:
        ports, _, lags = " ".join(words[1:]).partition("|")
        self.api.mc_node_update(int(words[0]), _ints(ports.split()), _ints(lags.split()) or None)

    def counter_read(self, words: list[str]) -> None:
        byte_count, packets = self.api.counter_read(words[0], int(words[1]))
        print(f"{words[0]}[{words[1]}]= ({byte_count} bytes, {packets} packets)")

    def register_read(self, words: list[str]) -> None:
        index = int(words[1], 0) if len(words) > 1 else None
        value = self.api.register_read(words[0], index)
        print(f"{words[0]}{'' if index is None else f'[{index}]'}= {value}")

    def run_line(self, line: str) -> None:
        words = line.split()
        command, args = words[0], words[1:]
        if command not in self.commands:
            raise ControlPlaneError(did_you_mean(
                f"simple_switch_CLI command {command!r} is not supported by labtool", command,
                self.commands) + f" (supported: {', '.join(sorted(self.commands))})")
        try:
            self.commands[command](args)
        except IndexError:
            raise ControlPlaneError(f"{command}: too few arguments") from None
        except ValueError as exc:
            raise ControlPlaneError(f"{command}: {exc}") from None


def apply_command_file(control: SwitchControl, path: Path) -> int:
    """Apply every command of `path` to the switch; returns how many ran."""
    from . import binding, script

    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read command file {path}: {exc.strerror}") from None
    with binding.bind({control.name: control}, script.switch_addresses({control.name: control})):
        runner = CommandRunner(SimpleSwitchThriftAPI(control.registers.port))
        count = 0
        for number, raw in enumerate(lines, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                runner.run_line(line)
            except ControlPlaneError as exc:
                raise CommandError(f"{path}:{number}: {line}\n  {exc}") from None
            count += 1
    return count
