"""The exact oracle moved into the package (lstm_hw/sim/oracle.py); its names, for the tests
that import them from here."""
from lstm_hw.sim.oracle import (Oracle, OracleTrace, check_constants, frac_of,  # noqa: F401
                                own_quantise, quantise, value_of)
