"""Checkpoints of real torchvision architectures for the check tests, cheap to write.

Keys, shapes, dtypes and the version table (``_metadata``) are exactly what the model's
``state_dict()`` gives; the values are views of one shared storage (a check never reads
values), so a ViT-B/16 file takes the bytes of its largest tensor, not 330 MB.
safetensors files cannot share storage: they come from small models, in float16.
"""

from __future__ import annotations

import collections


def model_on_meta(arch: str, **options):
    import torch
    from torchvision.models import get_model

    if arch.startswith("regnet"):  # its width computation cannot run on meta: small enough for CPU
        return get_model(arch, weights=None, **options)
    with torch.device("meta"):
        return get_model(arch, weights=None, **options)


def cheap_state_dict(state_dict) -> collections.OrderedDict:
    """The same keys, shapes, dtypes and ``_metadata``, over one shared float storage."""
    import torch

    largest = max(value.numel() for value in state_dict.values())
    base = torch.zeros(largest)
    cheap = collections.OrderedDict()
    for key, value in state_dict.items():
        if value.dtype == torch.float32:
            cheap[key] = base[:value.numel()].view(value.shape)
        else:
            cheap[key] = torch.zeros(value.shape, dtype=value.dtype)
    cheap._metadata = state_dict._metadata
    return cheap


def prefixed(state_dict, prefix: str) -> collections.OrderedDict:
    """What ``nn.DataParallel(model).state_dict()`` gives for ``prefix="module."``: every key and
    version-table entry under the prefix, and the wrapper's own version entry at ""."""
    result = collections.OrderedDict((prefix + key, value) for key, value in state_dict.items())
    result._metadata = collections.OrderedDict([("", {"version": 1})])
    for name, entry in state_dict._metadata.items():
        result._metadata[prefix + name if name else prefix.rstrip(".")] = entry
    return result


def without(state_dict, ending: str) -> collections.OrderedDict:
    result = collections.OrderedDict((key, value) for key, value in state_dict.items() if not key.endswith(ending))
    result._metadata = state_dict._metadata
    return result


def save_safetensors(state_dict, path: str) -> None:
    import torch
    from safetensors.torch import save_file

    save_file({key: torch.zeros(value.shape, dtype=torch.float16 if value.is_floating_point() else value.dtype)
               for key, value in state_dict.items()}, path)


def legacy_vit(state_dict) -> collections.OrderedDict:
    """A ViT state dict as torchvision saved it before its MLP became ``MLP``: ``mlp.linear_1``
    and ``mlp.linear_2`` keys, MLP blocks at version 1 (the model renames them as it loads)."""
    renames = {"mlp.0.": "mlp.linear_1.", "mlp.3.": "mlp.linear_2."}
    result = collections.OrderedDict()
    for key, value in state_dict.items():
        for new, old in renames.items():
            key = key.replace(new, old)
        result[key] = value
    result._metadata = collections.OrderedDict(
        (name, {"version": 1} if name.endswith(".mlp") else entry) for name, entry in state_dict._metadata.items())
    return result


def write_check_files(folder) -> dict[str, str]:
    """Every file the check tests use, written once."""
    import torch

    paths = {}

    def save(name: str, state_dict) -> None:
        paths[name] = str(folder / name)
        torch.save(state_dict, paths[name])

    resnet = model_on_meta("resnet18").state_dict()
    save("resnet18.pt", cheap_state_dict(resnet))
    save("resnet18_c10.pt", cheap_state_dict(model_on_meta("resnet18", num_classes=10).state_dict()))
    save("resnet18_dp.pt", prefixed(cheap_state_dict(resnet), "module."))
    shufflenet = cheap_state_dict(model_on_meta("shufflenet_v2_x0_5").state_dict())
    save("shufflenet_no_nbt.pt", without(shufflenet, "num_batches_tracked"))
    paths["shufflenet_no_nbt.safetensors"] = str(folder / "shufflenet_no_nbt.safetensors")
    save_safetensors(without(shufflenet, "num_batches_tracked"), paths["shufflenet_no_nbt.safetensors"])
    save("regnet_x_400mf.pt", cheap_state_dict(model_on_meta("regnet_x_400mf").state_dict()))
    mnasnet = cheap_state_dict(model_on_meta("mnasnet0_5").state_dict())
    save("mnasnet0_5.pt", mnasnet)
    paths["mnasnet0_5.safetensors"] = str(folder / "mnasnet0_5.safetensors")
    save_safetensors(mnasnet, paths["mnasnet0_5.safetensors"])
    vit = cheap_state_dict(model_on_meta("vit_b_16").state_dict())
    save("vit_b_16.pt", vit)
    save("vit_b_16_legacy.pt", legacy_vit(vit))
    return paths
