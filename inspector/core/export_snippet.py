"""The Python an export's sidecar offers: load the exported state dict into a model with
``strict=False``, report missing and unexpected keys, freeze the frozen parameters, keep
frozen BatchNorm layers in eval mode, and build the optimizer from trainable parameters only.

The frozen list comes from the safetensors metadata, or from the sidecar beside a ``.pt``.
"""

from __future__ import annotations

import json

_PT_LOAD = """\
import json

import torch

state_dict = torch.load({path}, map_location="cpu", weights_only=True)
with open({sidecar}) as file:
    frozen = set(json.load(file)["frozen"])
"""

_SAFETENSORS_LOAD = """\
import json

import torch
from safetensors import safe_open
from safetensors.torch import load_file

state_dict = load_file({path})
with safe_open({path}, "pt") as file:
    metadata = file.metadata() or {{}}
frozen = set(json.loads(metadata.get("frozen", "[]")))
for alias, kept in json.loads(metadata.get("aliases", "{{}}")).items():
    state_dict[alias] = state_dict[kept]  # tied weights are stored once
"""

_APPLY = """\

# model = ...  (build the architecture first, e.g. torchvision.models.resnet18(weights=None))
result = model.load_state_dict(state_dict, strict=False)
print("missing keys:", result.missing_keys)
print("unexpected keys:", result.unexpected_keys)
for name, parameter in model.named_parameters():
    if name in frozen:
        parameter.requires_grad_(False)


def freeze_batch_norm(model):
    \"\"\"Frozen BatchNorm layers keep their running statistics: call again after model.train().\"\"\"
    for prefix, module in model.named_modules():
        names = [f"{{prefix}}.{{name}}" if prefix else name for name, _ in module.named_parameters(recurse=False)]
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and names and frozen.issuperset(names):
            module.eval()


freeze_batch_norm(model)
optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
"""


def loading_snippet(destination: str, sidecar: str, format_name: str) -> str:
    """The snippet for an export written to ``destination`` (absolute paths are best)."""
    template = _SAFETENSORS_LOAD if format_name == "safetensors" else _PT_LOAD
    return template.format(path=json.dumps(destination), sidecar=json.dumps(sidecar)) + _APPLY.format()
