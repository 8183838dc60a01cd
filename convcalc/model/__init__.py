"""Stage 1, the model: option types, per-axis geometry (exact window arithmetic) and the kinds.

``kinds.KINDS`` is the one definition of every layer kind; everything above reads it.
Imports only ``base``."""
