"""Effect sizes: metafor's ``escalc`` measures for comparing models (MD, SMD, ROM, RD, RR, OR,
PR, PLO, COR, ZCOR, MC, SMCC), one module per family, one registry of measures."""

from __future__ import annotations

from consilience.effects._registry import MEASURES, Measure
from consilience.effects.continuous import hedges_correction
from consilience.effects.escalc import effect_sizes

__all__ = ["MEASURES", "Measure", "effect_sizes", "hedges_correction"]
