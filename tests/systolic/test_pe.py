"""One processing element: every register behaviour pinned."""

import numpy as np

from systolic.pe import ProcessingElement


def loaded_pe(weight=3.0):
    """A PE whose active weight is ``weight``: shift it into the shadow, then switch."""
    pe = ProcessingElement()
    pe.step(weight_in=weight, load=True, weight_valid=True)
    pe.step(switch=True)
    return pe


def test_mac_adds_product_to_the_partial_sum_from_the_north():
    pe = loaded_pe(3.0)
    out = pe.step(act_in=2.0, psum_in=5.0, valid=True)
    assert out.psum == 11.0 and out.psum_valid
    assert pe.useful_macs == 1


def test_activation_passes_east_unchanged_with_its_bits():
    pe = loaded_pe()
    out = pe.step(act_in=-7.5, valid=True, switch=False)
    assert out.act == -7.5 and out.valid and not out.switch
    out = pe.step(act_in=1.0, valid=False, switch=True)
    assert out.act == 1.0 and not out.valid and out.switch


def test_registers_use_the_types_of_the_format():
    pe = ProcessingElement(np.float32)
    out = pe.step(act_in=1 / 3, psum_in=0.1)
    assert isinstance(out.act, np.float32) and isinstance(out.psum, np.float32)
    assert out.act == np.float32(1 / 3)


def test_weight_shifts_into_the_shadow_only_when_load_is_set():
    pe = ProcessingElement()
    out = pe.step(weight_in=4.0, load=True, weight_valid=True)
    assert out.weight == 4.0 and out.weight_valid  # south neighbour sees the shadow
    assert pe.weight == 0.0  # the active weight is untouched
    out = pe.step(weight_in=9.0, load=False, weight_valid=True)
    assert out.weight == 4.0


def test_switch_copies_shadow_to_active_and_the_same_activation_uses_it():
    pe = loaded_pe(3.0)
    pe.step(weight_in=5.0, load=True, weight_valid=True)  # next tile in the shadow
    out = pe.step(act_in=2.0, valid=True)
    assert out.psum == 6.0  # still the old weight
    out = pe.step(act_in=2.0, valid=True, switch=True)
    assert out.psum == 10.0 and pe.weight == 5.0


def test_switch_and_shift_in_the_same_cycle_both_use_the_old_shadow():
    pe = loaded_pe(3.0)
    pe.step(weight_in=5.0, load=True, weight_valid=True)
    out = pe.step(act_in=1.0, valid=True, switch=True, weight_in=8.0, load=True, weight_valid=True)
    assert out.psum == 5.0 and pe.weight == 5.0 and out.weight == 8.0


def test_mac_with_padding_weight_or_no_data_is_not_useful():
    pe = ProcessingElement()
    pe.step(weight_in=0.0, load=True, weight_valid=False)
    pe.step(switch=True)
    out = pe.step(act_in=2.0, psum_in=1.0, valid=True)
    assert out.psum == 1.0 and not out.psum_valid and pe.useful_macs == 0
    pe = loaded_pe(3.0)
    out = pe.step(act_in=0.0, psum_in=1.0, valid=False)
    assert not out.psum_valid and pe.useful_macs == 0
    out = pe.step(psum_in=1.0, psum_valid=True)
    assert out.psum_valid  # a valid partial sum stays valid on its way south


def test_reset_clears_every_register_and_the_count():
    pe = loaded_pe(3.0)
    pe.step(act_in=2.0, psum_in=1.0, valid=True, switch=True, psum_valid=True)
    pe.reset()
    assert (pe.act, pe.psum, pe.weight, pe.shadow) == (0, 0, 0, 0)
    assert not any((pe.valid, pe.switch, pe.psum_valid, pe.weight_valid, pe.shadow_valid))
    assert pe.useful_macs == 0
