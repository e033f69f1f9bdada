"""Architectures evaluated on the same demands: trusted nodes, repeaters, satellites."""
