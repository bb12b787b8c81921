"""Importers: trained LSTM networks (PyTorch, Keras, plain numpy) -> lstm_hw netlists
(instances of the standard LSTM layer, lstm_hw/library/lstm.yaml).

    from lstm_hw.importers import from_torch, lstm_to_netlist, write_netlist
    layers, readout = from_torch(lstm, linear)              # or plain numpy, PyTorch layout
    write_netlist("net.yaml", layers, readout)              # net.yaml + net.npz (the weights)
    yaml_text, arrays = lstm_to_netlist(layers, readout)    # the same, in memory

torch is optional: only ``from_torch`` and reading .pt files import it.
"""
from .lstm import (DEFAULT_FORMAT, ROLES, ModelError, from_keras, from_keras_dense,
                   lstm_to_netlist, normalise_layers, write_netlist)
from .models import (from_torch, layers_from_keras, layers_from_state_dict, load_model,
                     read_state_dict)

__all__ = ["DEFAULT_FORMAT", "ROLES", "ModelError", "from_keras", "from_keras_dense",
           "from_torch", "layers_from_keras", "layers_from_state_dict", "load_model",
           "lstm_to_netlist", "normalise_layers", "read_state_dict", "write_netlist"]
