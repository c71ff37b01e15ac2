"""One weight-stationary processing element: the readable reference of every engine.

::

                 psum_in, psum_valid_in      weight_in, weight_valid_in  (load: shift enable)
                          |                          |
                          v                          v
                  +----------------------------------------+
    act_in   ---> | act, valid, switch      shadow weight  | ---> act_out, valid, switch
    valid         |                          | (switch)    |      (east neighbour)
    switch        |  psum = psum_in + act_in * weight       |
                  +----------------------------------------+
                          |                          |
                          v                          v
                  psum_out, psum_valid       weight_out (= shadow, south neighbour's weight_in)

At a clock edge, all from the values before it:

- ``switch`` travels with the first activation of a fold: the shadow weight becomes the active
  weight, and that same activation already multiplies the new weight;
- ``load``: the shadow register takes ``weight_in`` (the weight shift chain runs north to south
  through the shadow registers, so a tile shifts in while the active weights compute);
- the activation register takes ``act_in`` (passed east next cycle);
- the partial-sum register takes ``psum_in + act_in * weight`` (passed south next cycle).

Valid bits say which values are real data: a MAC is *useful* when a valid activation meets a
valid (non-padding) weight, and a partial sum is valid once it holds a useful product.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PEOutputs(NamedTuple):
    """Register values after a clock edge, as seen by the east and south neighbours."""

    act: np.generic
    valid: bool
    switch: bool
    psum: np.generic
    psum_valid: bool
    weight: np.generic
    weight_valid: bool


class ProcessingElement:
    """Registers of one PE and its ``step()`` to the next clock edge.

    Parameters
    ----------
    dtype : numpy.dtype
        Type of the registers and of the multiply and add (e.g. float32).
    """

    def __init__(self, dtype: np.dtype = np.float32):
        self.dtype = np.dtype(dtype).type
        self.reset()

    def reset(self) -> None:
        """Clear every register: zero values, all valid bits false, no MACs counted."""
        zero = self.dtype(0)
        self.act, self.psum, self.weight, self.shadow = zero, zero, zero, zero
        self.valid = self.switch = self.psum_valid = False
        self.weight_valid = self.shadow_valid = False
        self.useful_macs = 0

    def step(
        self,
        act_in: float = 0.0,
        psum_in: float = 0.0,
        weight_in: float = 0.0,
        *,
        valid: bool = False,
        switch: bool = False,
        psum_valid: bool = False,
        load: bool = False,
        weight_valid: bool = False,
    ) -> PEOutputs:
        """Advance one clock edge and return the new register values.

        Parameters
        ----------
        act_in, valid, switch
            Activation from the west, whether it is real data, and whether it is the first
            activation of a fold (switch the shadow weight in).
        psum_in, psum_valid
            Partial sum from the north and whether it holds a useful product.
        weight_in, weight_valid, load
            Weight from the north on the shift chain, whether it is real, and the shift enable.
        """
        act_in, psum_in, weight_in = self.dtype(act_in), self.dtype(psum_in), self.dtype(weight_in)
        weight = self.shadow if switch else self.weight
        weight_ok = self.shadow_valid if switch else self.weight_valid
        useful = valid and weight_ok
        # every next value above comes from the old registers; commit them together
        self.psum = self.dtype(psum_in + act_in * weight)
        self.psum_valid = psum_valid or useful
        self.weight, self.weight_valid = weight, weight_ok
        if load:
            self.shadow, self.shadow_valid = weight_in, weight_valid
        self.act, self.valid, self.switch = act_in, valid, switch
        self.useful_macs += int(useful)
        return PEOutputs(
            self.act,
            self.valid,
            self.switch,
            self.psum,
            self.psum_valid,
            self.shadow,
            self.shadow_valid,
        )
