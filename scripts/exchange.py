#!/usr/bin/env python3
"""Checks a run's exported models outside burnist, against its own predictions.

    python scripts/exchange.py RUN_DIR PREDICTIONS.jsonl [--onnx FILE] [--safetensors FILE]
    python scripts/exchange.py --torch-model OUT.onnx


PREDICTIONS.jsonl is `trainer predict --run RUN_DIR --json --first N`. The
ONNX model runs in onnxruntime on the same N test images, fed raw 0..255
pixels (the scaling is inside the graph); the safetensors file loads, strictly,
into the run's PyTorch twin (`torch_sequential` of scripts/twins.py: the
idiomatic nn.Sequential of its layer list), fed the scaled pixels. Each must give burnist's probabilities
within TOLERANCE; the script prints the largest difference and exits 1 if
one is larger. Needs numpy, onnx, onnxruntime, torch and safetensors.

With --torch-model, it trains a small PyTorch nn.Sequential instead (conv 8
relu, max-pool, flatten, dense 10: one epoch over 2,000 training images, x/255
pixels, seed 0), writes it with both of torch.onnx.export's exporters
(TorchScript to OUT.onnx, torch.export to OUT-dynamo.onnx and its .data) and
prints its accuracy on the first 1,000 test images as `{"accuracy": A,
"images": 1000, "dynamo": PATH}`: what `trainer import` must then reproduce.
Needs onnxscript too.
"""

import argparse
import json
import os
import pathlib
import sys

import numpy as np

from twins import DATA, idx, torch_sequential

# Largest absolute difference allowed between two probabilities. burnist,
# onnxruntime and PyTorch sum the same float32 products in different orders
# (and with or without FMA): each logit differs by a few ulps of the largest
# partial sum, about 1e-6 relative; through the softmax a probability moves by
# at most that times the logit's size. 1e-4 leaves room for logits of several
# hundred (raw 0..255 pixels); a wrong layout, scaling or weight is off by 1e-2
# or more.
TOLERANCE = 1e-4

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def images(split, count):
    """The first `count` images of `split` (train, t10k) as float32 [count, 1, 28, 28], 0..255."""
    pixels = idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz"), 16)
    return pixels[: count * 784].reshape(count, 1, 28, 28).astype(np.float32)


def labels(split, count):
    """The first `count` labels of `split`."""
    return idx(os.path.join(DATA, f"{split}-labels-idx1-ubyte.gz"), 8)[:count].astype(np.int64)


def torch_model(out):
    """Trains a small PyTorch twin, exports it to `out` (ONNX) and prints its accuracy."""
    import warnings

    import torch
    import torch.nn as nn

    # torch 2.9 warns that its TorchScript exporter is not the default any
    # more; the other one needs onnxscript, and both write these operators.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 13 * 13, 10)
    )
    x = torch.from_numpy(images("train", 2000) / np.float32(255.0))
    y = torch.from_numpy(labels("train", 2000))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for start in range(0, len(x), 32):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(net(x[start : start + 32]), y[start : start + 32])
        loss.backward()
        optimizer.step()
    net.eval()
    test = torch.from_numpy(images("t10k", 1000) / np.float32(255.0))
    with torch.no_grad():
        accuracy = float((net(test).argmax(1).numpy() == labels("t10k", 1000)).mean())
    torch.onnx.export(
        net, (test[:1],), str(out), input_names=["pixels"], output_names=["logits"],
        dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    # torch.export's exporter (the default from 2.9, needs onnxscript): a
    # reshape for the flatten, the weights in a `.data` file beside the model.
    dynamo = out.with_name(out.stem + "-dynamo.onnx")
    torch.onnx.export(
        net, (test[:1],), str(dynamo), input_names=["pixels"], output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False,
    )
    print(json.dumps({"accuracy": accuracy, "images": 1000, "dynamo": str(dynamo)}))


def scale(pixels, scaling):
    """The pixels as burnist's batcher scales them."""
    if scaling == "raw":
        return pixels
    unit = pixels / np.float32(255.0)
    if scaling == "unit":
        return unit
    return (unit - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)


def compare(what, probabilities, expected):
    worst = float(np.max(np.abs(probabilities - expected)))
    agree = float(np.mean(probabilities.argmax(1) == expected.argmax(1)))
    print(f"{what}: {len(expected)} images, largest difference {worst:.2e} "
          f"(tolerance {TOLERANCE:.0e}), same digit for {agree:.4f}")
    return worst <= TOLERANCE


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=pathlib.Path, nargs="?")
    parser.add_argument("predictions", type=pathlib.Path, nargs="?")
    parser.add_argument("--onnx", type=pathlib.Path)
    parser.add_argument("--safetensors", type=pathlib.Path)
    parser.add_argument("--torch-model", type=pathlib.Path, metavar="OUT.onnx")
    args = parser.parse_args()
    if args.torch_model:
        return torch_model(args.torch_model)
    if not (args.run and args.predictions):
        parser.error("RUN and PREDICTIONS are needed to check exports")

    rows = [json.loads(line) for line in args.predictions.read_text().splitlines() if line]
    expected = np.array([row["probabilities"] for row in rows], dtype=np.float32)
    assert [row["index"] for row in rows] == list(range(len(rows))), "test images in order"
    config = json.loads((args.run / "config.json").read_text())
    scaling = config.get("data", {}).get("scaling", "raw")
    pixels = images("t10k", len(rows))
    ok = True

    if args.onnx:
        import onnx
        import onnxruntime

        model = onnx.load(str(args.onnx))
        onnx.checker.check_model(model, full_check=True)
        meta = {entry.key: entry.value for entry in model.metadata_props}
        assert meta["burnist.scaling"] == scaling, meta
        session = onnxruntime.InferenceSession(str(args.onnx), providers=["CPUExecutionProvider"])
        (output,) = session.run(["probabilities"], {"pixels": pixels})
        ok &= compare("onnxruntime", output, expected)

    if args.safetensors:
        import torch
        from safetensors.torch import load_file

        net = torch_sequential(config["model"]["layers"])
        net.load_state_dict(load_file(str(args.safetensors)), strict=True)
        net.eval()
        with torch.no_grad():
            logits = net(torch.from_numpy(scale(pixels, scaling)))
            output = torch.softmax(logits, dim=1).numpy()
        ok &= compare("pytorch twin", output, expected)

    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
