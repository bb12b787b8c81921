"""The op table's seams: an op that lowering, the interpreter or the code generator does not know
is our bug (InternalError), never silently a copy or an unwritten slot; the engines take the
Program's arrays in the order one list gives."""
from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import lstm_hw
from lstm_hw.compile.schedule import COMPILED_ARGS, KERNEL_ARGS, lower
from lstm_hw.sim import codegen
from lstm_hw.sim.kernel import run_program

ROOT = Path(__file__).parent.parent
UNKNOWN_OPCODE = 99


@pytest.fixture(scope="module")
def program():
    return lstm_hw.compile_netlist(ROOT / "netlists" / "memory_cell.yaml").program


def with_unknown_opcode(program):
    op = program.op.copy()
    op[0] = UNKNOWN_OPCODE
    return dataclasses.replace(program, op=op)


def test_lowering_refuses_an_unknown_op():
    circuit = lstm_hw.load(ROOT / "netlists" / "memory_cell.yaml")
    cid = circuit.order[0]
    cells = list(circuit.cells)
    cells[cid] = dataclasses.replace(cells[cid], op="frobnicate")
    with pytest.raises(lstm_hw.InternalError, match="no lowering for op 'frobnicate'"):
        lower(dataclasses.replace(circuit, cells=cells))


@pytest.mark.parametrize("rare", [False, True])
def test_interpreter_refuses_an_unknown_opcode(program, rare):
    """With the rare ops' code compiled in and without (the kernel's two variants)."""
    bad = with_unknown_opcode(program)
    vals = np.repeat(bad.initial[:, None], 2, axis=1)
    inputs = np.zeros((3, len(bad.in_slots), 2), np.int64)
    record = np.arange(3, dtype=np.int64)
    with pytest.raises(lstm_hw.InternalError, match="unknown opcode"):
        run_program(*bad.kernel_args(), vals, inputs, record, bad.op if rare else None)


def test_code_generator_refuses_an_unknown_opcode(program):
    with pytest.raises(lstm_hw.InternalError, match=f"no code for opcode {UNKNOWN_OPCODE}"):
        codegen.generate_source(with_unknown_opcode(program))


def test_verifier_refuses_an_unknown_opcode(program):
    with pytest.raises(lstm_hw.InternalError, match=f"unknown opcode {UNKNOWN_OPCODE}"):
        from lstm_hw.compile.schedule import verify_program
        circuit = lstm_hw.load(ROOT / "netlists" / "memory_cell.yaml")
        verify_program(with_unknown_opcode(program), circuit)


def test_engines_take_the_program_arrays_in_one_order(program):
    kernel = list(inspect.signature(run_program.py_func).parameters)
    assert kernel[:len(KERNEL_ARGS)] == list(KERNEL_ARGS)
    assert kernel[len(KERNEL_ARGS):] == ["vals", "inputs", "record", "rare_ops"]
    head = next(ln for ln in codegen.generate_source(program).splitlines()
                if ln.startswith("def run("))
    assert head == f"def run(vals, inputs, record, {', '.join(COMPILED_ARGS)}):"
    assert len(program.kernel_args()) == len(KERNEL_ARGS)


def test_hard_sigmoid_example_runs_as_the_exact_arithmetic_says(tmp_path):
    """netlists/hard_sigmoid.yaml through the real CLI on both engines: y = clip(0.2 x + 0.5,
    0, 1) with 0.2 in its weight format, each result rounded into its format."""
    from fractions import Fraction

    from cli_helpers import run_cli

    from lstm_hw.sim.oracle import own_quantise

    xs = ["-3", "-2.5", "-2.498046875", "-1", "0", "0.3", "1", "2.4", "2.5", "7", "31.5"]
    data = tmp_path / "x.csv"
    data.write_text("x\n" + "\n".join(xs) + "\n")
    weight = Fraction(own_quantise(Fraction(1, 5), 16, 1, True, "AP_RND", "AP_WRAP", 0)[0],
                      2 ** 15)
    want = []
    for x in xs:
        z = own_quantise(weight * Fraction(x) + Fraction(1, 2), 16, 6, True, "AP_RND",
                         "AP_SAT", 0)[0]
        clipped = min(max(Fraction(z, 2 ** 10), Fraction(0)), Fraction(1))
        y = own_quantise(clipped, 10, 1, False, "AP_RND", "AP_SAT", 0)[0]
        want.append(Fraction(y, 2 ** 9))
    outputs = []
    for engine in ("interpreter", "compiled", "numpy"):
        proc = run_cli("run", ROOT / "netlists" / "hard_sigmoid.yaml", "-i", data,
                       "--engine", engine)
        assert proc.returncode == 0, proc.stderr
        rows = [line.split(",") for line in proc.stdout.splitlines()[1:]]
        outputs.append([Fraction(r[1]) for r in rows])
    assert outputs[0] == outputs[1] == outputs[2] == want
    assert want[0] == 0 and want[-1] == 1 and 0 < want[5] < 1


# Where op names may be compared as strings: the cell table, the lowering table, and the exact
# oracle (a second, independent statement of every op's meaning, on purpose). Everywhere else
# the compiler asks an op's Kind (or a table keyed by op answers).
OP_NAMES_ALLOWED = {"compile/cells.py", "compile/schedule.py", "sim/oracle.py"}


def test_op_names_are_compared_only_in_the_tables():
    from lstm_hw.compile.cells import SPECS
    names = "|".join(sorted(SPECS))
    compared = re.compile(rf"""(\bop\b|\.op\b)\s*(==|!=)\s*["']({names})["']"""
                          rf"""|(\bop\b|\.op\b)\s+(not\s+)?in\s+[(\[{{]\s*["']({names})["']""")
    found = []
    package = ROOT / "lstm_hw"
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if compared.search(line) and rel not in OP_NAMES_ALLOWED:
                found.append(f"lstm_hw/{rel}:{n}: {line.strip()}")
    assert not found, "op names compared outside the tables:\n" + "\n".join(found)
    # and the pattern does find them where they are
    assert compared.search((package / "sim" / "oracle.py").read_text())
