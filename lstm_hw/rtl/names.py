"""Verilog names of the hardware's signals, the one naming that the export (``verilog.py``) and
``run --vcd`` (``report/vcd.py``) share, so that the RTL's waveforms and lstm_hw's line up.

Every element of every hardware signal gets an identifier: dots become ``_``, the elements of a
vector ``_k`` (``l1.c`` element 3 is ``l1_c_3``, the pipeline register ``b.p1`` is ``b_p1``). The
ports are named first (``clk``, ``rst``, ``in_valid``, the inputs, the outputs, ``NAME_valid``
per output), then the other signals in the hardware's order; a name already taken (or a Verilog
keyword) gets a ``_N`` suffix. The exporter names its internal wires after all of these.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..compile.circuit import Cell, Circuit

KEYWORDS = frozenset("""
alias always always_comb always_ff always_latch and assert assign assume automatic before begin
bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class
clocking cmos config const constraint context continue cover covergroup coverpoint cross deassign
default defparam design disable dist do edge else end endcase endchecker endclass endclocking
endconfig endfunction endgenerate endgroup endinterface endmodule endpackage endprimitive
endprogram endproperty endspecify endsequence endtable endtask enum event eventually expect
export extends extern final first_match for force foreach forever fork forkjoin function generate
genvar global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import
incdir include initial inout input inside instance int integer interconnect interface intersect
join join_any join_none large let liblist library local localparam logic longint macromodule
matches medium modport module nand negedge nettype new nexttime nmos nor noshowcancelled not
notif0 notif1 null or output package packed parameter pmos posedge primitive priority program
property protected pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand
randc randcase randsequence rcmos real realtime ref reg reject_on release repeat restrict return
rnmos rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with
scalared sequence shortint shortreal showcancelled signed small soft solve specify specparam
static string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1
triand trior trireg type typedef union unique unique0 unsigned until until_with untyped use uwire
var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire with within
wor xnor xor""".split())
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Namer:
    """Verilog identifiers for the netlist's names: dots become ``_``, elements ``_k``; a name
    taken already (or a keyword) gets a ``_N`` suffix. Ports are named first."""

    def __init__(self):
        self.used: set[str] = set()

    def take(self, base: str) -> str:
        name, k = base, 1
        while name in self.used or name in KEYWORDS:
            name = f"{base}_{k}"
            k += 1
        self.used.add(name)
        return name


def elem_name(cell: Cell, e: int) -> str:
    base = cell.name.replace(".", "_")
    return base if cell.size == 1 else f"{base}_{e}"


@dataclass
class HardwareNames:
    """The identifiers of one hardware circuit's signals and ports."""
    signals: dict[tuple[int, int], str]       # (cell, element) -> its wire, register or port
    inputs: list[str]                         # the input ports, in input-column order
    outputs: list[str]                        # the output ports, in output-column order
    valids: list[str]                         # per output signal, its NAME_valid port
    namer: Namer                              # every name above taken
    valid_input: int | None                   # the valid input cell (in_valid) if timed
    clashes: list[tuple[Cell, str]] = field(default_factory=list)   # ports that could not
    # keep their name (a keyword, or another port's name): the exporter refuses them


def hardware_names(hw: Circuit, timed: bool) -> HardwareNames:
    """The names of the signals of hw, the hardware circuit (``compile_circuit``); timed: its
    last input is the valid bit of the time steps (``in_valid``)."""
    namer = Namer()
    namer.used.update(("clk", "rst", "in_valid"))
    cells = hw.cells
    valid_input = hw.inputs[-1] if timed else None
    names = HardwareNames({}, [], [], [], namer, valid_input)

    def port(base: str, cell: Cell) -> str:
        if base in namer.used or base in KEYWORDS:
            names.clashes.append((cell, base))
        return namer.take(base)

    for cid in hw.inputs:
        c = cells[cid]
        if cid == valid_input:
            names.signals[(cid, 0)] = "in_valid"
            continue
        for e in range(c.size):
            names.signals[(cid, e)] = port(elem_name(c, e), c)
            names.inputs.append(names.signals[(cid, e)])
    for cid in hw.outputs:
        c = cells[cid]
        for e in range(c.size):
            if cid in hw.inputs:     # an input that is also an output
                names.outputs.append(port(elem_name(c, e) + "_out", c))
            else:
                names.signals[(cid, e)] = port(elem_name(c, e), c)
                names.outputs.append(names.signals[(cid, e)])
        names.valids.append(port(c.name.replace(".", "_") + "_valid", c))
    for c in cells:
        for e in range(c.size):
            if (c.id, e) not in names.signals:
                names.signals[(c.id, e)] = namer.take(elem_name(c, e))
    return names
