"""convcalc: a framework-free calculator for convolutional networks.

A spec (a small YAML file) describes a layer stack; convcalc walks it with exact
output-size, parameter and FLOP formulas.  This module is the public Python API; it
imports nothing heavy, so ``import convcalc`` stays as cheap as the CLI's start-up.
"""

__version__ = "0.1.0"
