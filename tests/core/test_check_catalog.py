"""The shipped architecture list is what torchvision lists, so the window needs no torch."""

from __future__ import annotations

import pytest

from inspector.core.check_catalog import CATALOG, architectures, builder_options, close_names, generate_catalog


def test_the_shipped_catalog_is_torchvisions():
    pytest.importorskip("torchvision")
    from torchvision.models import list_models

    assert generate_catalog() == CATALOG
    assert architectures() == sorted(list_models())


def test_builder_options_follow_the_family():
    assert builder_options("resnet18") == ("num_classes",)
    assert builder_options("inception_v3") == ("num_classes", "aux_logits")
    assert builder_options("fcn_resnet50") == ("num_classes", "aux_loss")
    assert builder_options("raft_small") == ()


def test_close_names():
    assert close_names("resnet19", architectures())[0] == "resnet18"
    assert close_names("vit", architectures()) == ["vit_b_16", "vit_b_32", "vit_h_14", "vit_l_16", "vit_l_32"]
