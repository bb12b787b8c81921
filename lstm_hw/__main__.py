"""python -m lstm_hw: the same as the lstm-hw command."""
import sys

from .cli import main

sys.exit(main())
