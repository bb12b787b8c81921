"""``lstm-hw import``: a trained LSTM's weights -> NETLIST.yaml + NETLIST.npz.

    lstm-hw import MODEL.pt -o OUT.yaml       a torch.save'd state_dict (needs torch)
    lstm-hw import WEIGHTS.npz -o OUT.yaml    the same keys in an .npz (no torch needed)
    lstm-hw import --keras WEIGHTS.npz -o OUT.yaml    Keras layout (kernel, recurrent_kernel, bias)
    lstm-hw import MODEL --hls4ml CONFIG -o OUT.yaml  as hls4ml builds it (importers/hls4ml.py)
"""
from __future__ import annotations

from ..files import check_outputs
from .lstm import ROLES, ModelError, netlist_paths, write_netlist
from .models import load_model


def add_import_parser(sub) -> None:
    p = sub.add_parser(
        "import", help="a trained LSTM (PyTorch state_dict or Keras arrays) -> a netlist",
        description="Write OUT.yaml (a netlist: per layer an instance l1, l2... of lstm_hw's "
                    "standard LSTM layer; one time step per clock cycle) and OUT.npz "
                    "(its weights) from a trained LSTM: a PyTorch "
                    "state_dict saved with torch.save (keys weight_ih_l0, weight_hh_l0, "
                    "bias_ih_l0, bias_hh_l0, ... and an optional Linear readout such as "
                    "readout.weight/readout.bias), the same keys in an .npz, or Keras-layout "
                    "arrays with --keras.")
    p.add_argument("model", nargs="?", metavar="MODEL.pt",
                   help="a state_dict (.pt/.pth via torch.load(weights_only=True), or .npz); "
                        "with --hls4ml also a Keras model file (.h5, .keras)")
    p.add_argument("--hls4ml", metavar="CONFIG",
                   help="build the LSTM as hls4ml 1.3.0 does, bit for bit, with this hls4ml "
                        "configuration (YAML or JSON: HLSConfig with Model, LayerName, "
                        "LayerType): its types, casts, tables and weight quantisation")
    p.add_argument("--keras", metavar="WEIGHTS.npz",
                   help="Keras-layout arrays instead: per layer PREFIX kernel (in x 4H), "
                        "PREFIX recurrent_kernel (H x 4H), PREFIX bias (4H), gate order i, f, "
                        "c, o; plus an optional Dense kernel/bias readout")
    p.add_argument("-o", "--output", required=True, metavar="OUT.yaml",
                   help="the netlist to write; the weights go to OUT.npz next to it")
    p.add_argument("--name", help="the netlist's name (default: OUT's stem)")
    p.add_argument("--format", default=None, metavar="FORMAT",
                   help="the default format, e.g. 'ap_fixed<16,6,AP_RND_CONV,AP_SAT>'; the gates "
                        "and hidden state get its width with 2 integer bits")
    p.add_argument("--precision", action="append", default=[], metavar="ROLE|GLOB[:PART]=FORMAT",
                   help=f"a format written into the netlist; ROLE is one of {', '.join(ROLES)}; "
                        "repeatable")
    p.add_argument("--readout-prefix", metavar="P",
                   help="the readout's keys are P.weight and P.bias (Keras: P kernel, P bias); "
                        "default: readout.*, or the one Linear/Dense layer present")
    p.add_argument("--inputs", metavar="NAMES",
                   help="input names: one name (a vector input, default x) or a comma-separated "
                        "name per input element, e.g. x1,x2,x3")
    p.add_argument("--output-name", default="y", metavar="NAME",
                   help="the readout's signal name (default y)")
    p.add_argument("--activations", choices=("table", "exact"), default="table",
                   help="sigmoid/tanh as hls4ml-style lookup tables (default) or exact")
    p.add_argument("--table-size", type=int, default=None, metavar="N",
                   help="entries of each lookup table (default 1024, as hls4ml; sigmoid over "
                        "[-8, 8), tanh over [-4, 4))")
    p.set_defaults(func=cmd_import)


def cmd_import(args) -> int:
    if args.hls4ml:
        return _import_hls4ml(args)
    if bool(args.model) == bool(args.keras):
        raise ModelError("give a model file (MODEL.pt or .npz) or --keras WEIGHTS.npz, not "
                         + ("both" if args.model else "neither"))
    source = args.keras or args.model
    yaml_path, npz_path = netlist_paths(args.output)
    check_outputs({"-o": str(yaml_path), "its weights file": str(npz_path)},
                  {"--keras" if args.keras else "the model": source})
    layers, readout = load_model(source, keras=bool(args.keras),
                                 readout_prefix=args.readout_prefix)
    precision = {}
    for text in args.precision:
        key, sep, fmt = text.partition("=")
        if not sep or not key.strip():
            raise ModelError(f"--precision '{text}': expected ROLE=FORMAT or GLOB[:PART]=FORMAT")
        precision[key.strip()] = fmt.strip()
    kwargs = {}
    if args.format:
        kwargs["format"] = args.format
    if args.inputs:
        names = [n.strip() for n in args.inputs.split(",")]
        kwargs["inputs"] = names[0] if len(names) == 1 else names
    if args.activations == "exact":
        if args.table_size is not None:
            raise ModelError("--table-size needs --activations table")
        kwargs.update(sigmoid="exact", tanh="exact")
    elif args.table_size is not None:
        kwargs.update(sigmoid={"table": {"size": args.table_size, "range": [-8, 8]}},
                      tanh={"table": {"size": args.table_size, "range": [-4, 4]}})
    yaml_path, npz_path = write_netlist(
        args.output, layers, readout, name=args.name, precision=precision,
        output=args.output_name, source=source, **kwargs)
    sizes = [layers[0]["weight_ih"].shape[1]] + [lay["weight_hh"].shape[1] for lay in layers]
    shape = " -> ".join(map(str, sizes)) + (f" -> {readout['weight'].shape[0]}" if readout
                                            else "")
    print(f"wrote {yaml_path} and {npz_path.name}: a {len(layers)}-layer LSTM ({shape})")
    return 0


def _import_hls4ml(args) -> int:
    from .hls4ml import import_hls4ml
    if bool(args.model) == bool(args.keras):
        raise ModelError("give a model file (MODEL.h5, .keras, .pt or .npz) or --keras "
                         "WEIGHTS.npz, not " + ("both" if args.model else "neither"))
    clash = [opt for opt, given in (("--format", args.format), ("--precision", args.precision),
                                    ("--readout-prefix", args.readout_prefix),
                                    ("--table-size", args.table_size is not None),
                                    ("--activations", args.activations != "table"),
                                    ("--output-name", args.output_name != "y")) if given]
    if clash:
        raise ModelError(f"{clash[0]} does not go with --hls4ml: the configuration sets the "
                         "types and tables (change them afterwards with --precision on run, "
                         "check or sweep)")
    input_name = "x"
    if args.inputs:
        if "," in args.inputs:
            raise ModelError("--inputs with --hls4ml: one name (the input vector)")
        input_name = args.inputs.strip()
    (yaml_path, npz_path), model = import_hls4ml(args.keras or args.model, args.hls4ml,
                                                 args.output, keras=bool(args.keras),
                                                 name=args.name, input_name=input_name)
    shape = " -> ".join([str(model.layers[0].kernel.shape[0])] +
                        [f"{lay.name} {lay.recurrent_kernel.shape[0]}" for lay in model.layers])
    print(f"wrote {yaml_path} and {npz_path.name}: hls4ml's LSTM ({shape})")
    return 0


__all__ = ["add_import_parser", "cmd_import"]
