// Anchors the shared precompiled <torch/torch.h>; see AssimTorchPch.cmake.
