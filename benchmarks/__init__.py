"""Speed figures of lstm_hw, printed: ``python -m benchmarks``."""
