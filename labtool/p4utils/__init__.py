"""The course's p4-utils code on labtool's engine.

Course control planes import `p4utils.utils.helper.load_topo`,
`p4utils.utils.sswitch_p4runtime_API.SimpleSwitchP4RuntimeAPI`,
`p4utils.utils.sswitch_thrift_API.SimpleSwitchThriftAPI` and
`p4utils.mininetlib.network_API.NetworkAPI`. Real p4-utils cannot share a process
or a virtualenv with labtool (its protobuf pin), its P4Runtime client takes over
as primary controller with election id 2^64 and its Thrift API writes table
entries behind the P4Runtime server's back. This package answers the same calls
with the same signatures through labtool's own control plane of each switch
(`SwitchControl`), so the verifier's reads and writes keep working, and it
raises with the valid names where p4-utils would print and carry on.

`aliases.install()` makes `import p4utils...` resolve here; `script.py` runs a
course script as `__main__` inside a labtool run; `python -m labtool.p4utils
SCRIPT` runs one by hand against a network started with `labtool up`.
"""
