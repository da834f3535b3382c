"""The torchvision architectures a check can target, and the builder options each one takes.

``CATALOG`` is shipped as text so that the window can list architectures without importing
torch; ``generate_catalog`` rebuilds it from the installed torchvision (a test compares the
two, so the list cannot go stale unnoticed). The check itself asks torchvision at run time.
"""

from __future__ import annotations

import difflib

CATALOG: dict[str, tuple[str, ...]] = {
    "classification": (
        "alexnet", "convnext_base", "convnext_large", "convnext_small", "convnext_tiny", "densenet121",
        "densenet161", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
        "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
        "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s", "googlenet", "inception_v3", "maxvit_t",
        "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v2", "mobilenet_v3_large",
        "mobilenet_v3_small", "regnet_x_16gf", "regnet_x_1_6gf", "regnet_x_32gf", "regnet_x_3_2gf",
        "regnet_x_400mf", "regnet_x_800mf", "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf", "regnet_y_1_6gf",
        "regnet_y_32gf", "regnet_y_3_2gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_8gf", "resnet101",
        "resnet152", "resnet18", "resnet34", "resnet50", "resnext101_32x8d", "resnext101_64x4d", "resnext50_32x4d",
        "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "squeezenet1_0",
        "squeezenet1_1", "swin_b", "swin_s", "swin_t", "swin_v2_b", "swin_v2_s", "swin_v2_t", "vgg11", "vgg11_bn",
        "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vit_b_16", "vit_b_32", "vit_h_14",
        "vit_l_16", "vit_l_32", "wide_resnet101_2", "wide_resnet50_2",
    ),
    "detection": (
        "fasterrcnn_mobilenet_v3_large_320_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_resnet50_fpn",
        "fasterrcnn_resnet50_fpn_v2", "fcos_resnet50_fpn", "keypointrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn",
        "maskrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2", "ssd300_vgg16",
        "ssdlite320_mobilenet_v3_large",
    ),
    "segmentation": (
        "deeplabv3_mobilenet_v3_large", "deeplabv3_resnet101", "deeplabv3_resnet50", "fcn_resnet101",
        "fcn_resnet50", "lraspp_mobilenet_v3_large",
    ),
    "video": ("mc3_18", "mvit_v1_b", "mvit_v2_s", "r2plus1d_18", "r3d_18", "s3d", "swin3d_b", "swin3d_s", "swin3d_t"),
    "optical_flow": ("raft_large", "raft_small"),
    "quantization": (
        "quantized_googlenet", "quantized_inception_v3", "quantized_mobilenet_v2", "quantized_mobilenet_v3_large",
        "quantized_resnet18", "quantized_resnet50", "quantized_resnext101_32x8d", "quantized_resnext101_64x4d",
        "quantized_shufflenet_v2_x0_5", "quantized_shufflenet_v2_x1_0", "quantized_shufflenet_v2_x1_5",
        "quantized_shufflenet_v2_x2_0",
    ),
}

# Builder options the window offers (all take a bool but num_classes), and who takes them.
AUX_LOGITS_MODELS = ("googlenet", "inception_v3", "quantized_googlenet", "quantized_inception_v3")
WITHOUT_NUM_CLASSES = ("optical_flow",)
CLOSE_NAMES = 5


def generate_catalog() -> dict[str, tuple[str, ...]]:
    """``CATALOG`` as the installed torchvision lists it (imports torchvision)."""
    import torchvision.models as models
    from torchvision.models import list_models

    catalog = {"classification": tuple(list_models(models))}
    for family in ("detection", "segmentation", "video", "optical_flow", "quantization"):
        catalog[family] = tuple(list_models(getattr(models, family)))
    return catalog


def architectures() -> list[str]:
    """Every architecture name, sorted."""
    return sorted(name for names in CATALOG.values() for name in names)


def family_of(arch: str) -> str | None:
    return next((family for family, names in CATALOG.items() if arch in names), None)


def builder_options(arch: str) -> tuple[str, ...]:
    """The options a window offers for ``arch``: ``num_classes`` and the auxiliary heads."""
    family = family_of(arch)
    options = () if family in WITHOUT_NUM_CLASSES else ("num_classes",)
    if arch in AUX_LOGITS_MODELS:
        options += ("aux_logits",)
    if family == "segmentation":
        options += ("aux_loss",)
    return options


def close_names(arch: str, known: list[str]) -> list[str]:
    """Names in ``known`` that look like ``arch``: those it begins (``vit`` -> ``vit_b_16``…),
    then near spellings (``resnet19`` -> ``resnet18``)."""
    lowered = arch.lower()
    starting = [name for name in known if lowered and name.startswith(lowered)]
    close = difflib.get_close_matches(lowered, known, n=CLOSE_NAMES, cutoff=0.6)
    return list(dict.fromkeys([*starting, *close]))[:CLOSE_NAMES]
