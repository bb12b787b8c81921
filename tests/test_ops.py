"""The op table's seams: an op that lowering, the interpreter or the code generator does not know
is our bug (InternalError), never silently a copy or an unwritten slot; the engines take the
Program's arrays in the order one list gives."""
from __future__ import annotations

import dataclasses
import inspect
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
