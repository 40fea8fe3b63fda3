# SPDX-License-Identifier: MIT
"""The single source of nncore's version."""
__version__ = "0.2.0.dev0"
