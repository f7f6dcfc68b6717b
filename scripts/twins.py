#!/usr/bin/env python3
"""The Keras and PyTorch twins of a burnist experiment file: the same layers
(read from the config's [[model.layers]]), Glorot-uniform weights and zero
biases, Adam (lr 1e-3, epsilon 1e-7), categorical cross-entropy, the same
batch, pixel scaling and validation data, timed per epoch on the CPU.

Usage (the venv of ../shared/reference/setup.sh, plus torch for PyTorch):
    python scripts/twins.py keras|torch --config configs/keras-convnet.toml \
        [--epochs N] [--threads N] [--data DIR]
Prints one line per epoch, then a machine-readable JSON line (what
scripts/bench.sh reads).
"""
import argparse
import gzip
import json
import os
import time
import tomllib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "data", "mnist")
# burnist's defaults for the keys a config may leave out (crates/experiment/src/file.rs).
DEFAULTS = {"epochs": 3, "batch_size": 32, "scaling": "raw"}
# The notebook's network, for configs without [[model.layers]] (LayerConfig::notebook).
NOTEBOOK_LAYERS = [
    {"type": "conv2d", "filters": 8, "kernel_size": 3},
    {"type": "max_pool2d", "pool_size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 10, "activation": "softmax"},
]


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(directory, config):
    data = config.get("data", {})
    scaling = data.get("scaling", DEFAULTS["scaling"])

    def images(name, limit):
        x = idx(os.path.join(directory, name), 16).reshape(-1, 28, 28, 1)[:limit].astype("float32")
        if scaling in ("unit", "standard"):
            x = x / 255.0
        if scaling == "standard":
            x = (x - 0.1307) / 0.3081
        return x

    def labels(name, limit):
        return idx(os.path.join(directory, name), 8)[:limit].astype("int64")

    train_n, test_n = data.get("train_size"), data.get("test_size")
    x, y = images("train-images-idx3-ubyte.gz", train_n), labels("train-labels-idx1-ubyte.gz", train_n)
    x_test, y_test = images("t10k-images-idx3-ubyte.gz", test_n), labels("t10k-labels-idx1-ubyte.gz", test_n)
    split = data.get("validation_split")
    if split:
        # Keras's validation_split: the last fraction of the training set.
        cut = int(len(x) * (1 - split))
        return (x[:cut], y[:cut]), (x[cut:], y[cut:]), (x_test, y_test)
    return (x, y), (x_test, y_test), (x_test, y_test)


def keras_twin(config, train, valid, test, epochs, batch, threads):
    import tensorflow as tf
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras
    from keras import layers

    model = [keras.Input(shape=(28, 28, 1))]
    for layer in config["model"]["layers"]:
        kind = layer["type"]
        if kind == "conv2d":
            model.append(layers.Conv2D(layer["filters"], layer["kernel_size"], strides=layer.get("strides", 1),
                                       padding=layer.get("padding", "valid"),
                                       activation=layer.get("activation", "linear")))
        elif kind in ("max_pool2d", "avg_pool2d"):
            pool = layers.MaxPooling2D if kind == "max_pool2d" else layers.AveragePooling2D
            model.append(pool(layer["pool_size"], strides=layer.get("strides")))
        elif kind == "flatten":
            # burnist flattens NCHW: same function, permuted weights.
            model.append(layers.Flatten())
        elif kind == "dropout":
            model.append(layers.Dropout(layer["rate"]))
        elif kind == "dense":
            model.append(layers.Dense(layer["units"], activation=layer.get("activation", "linear")))
        elif kind == "batch_norm":
            model.append(layers.BatchNormalization(momentum=layer.get("momentum", 0.99),
                                                   epsilon=layer.get("epsilon", 1e-3)))
        else:
            raise SystemExit(f"twins.py: no Keras twin for layer type {kind}")
    model = keras.Sequential(model)
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7), metrics=["accuracy"])
    times, accs = [], []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)
            accs.append(logs["val_accuracy"])
            print(f"[epoch {epoch + 1}] {times[-1]:.2f}s  loss {logs['loss']:.4f}  "
                  f"val_acc {logs['val_accuracy']:.4f}", flush=True)

    model.fit(train[0], train[1], batch_size=batch, epochs=epochs, validation_data=valid,
              verbose=0, callbacks=[Timer()])
    _, test_acc = model.evaluate(test[0], test[1], verbose=0, batch_size=500)
    return times, accs, test_acc, {"tensorflow": tf.__version__, "keras": keras.__version__}


def torch_sequential(layers):
    """The idiomatic PyTorch nn.Sequential of a burnist layer list: one
    module per layer, each relu/sigmoid/tanh its own module right after its
    layer, no softmax module (PyTorch trains on logits). `trainer export
    --format safetensors` names its weights by these modules' indices."""
    from torch import nn
    modules, channels, side, features = [], 1, 28, None
    activations = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
    for layer in layers:
        kind = layer["type"]
        if kind == "conv2d":
            k, s = layer["kernel_size"], layer.get("strides", 1)
            pad = k // 2 if layer.get("padding", "valid") == "same" else 0
            modules.append(nn.Conv2d(channels, layer["filters"], k, stride=s, padding=pad))
            channels, side = layer["filters"], (side + 2 * pad - k) // s + 1
        elif kind in ("max_pool2d", "avg_pool2d"):
            p = layer["pool_size"]
            s = layer.get("strides") or p
            modules.append((nn.MaxPool2d if kind == "max_pool2d" else nn.AvgPool2d)(p, stride=s))
            side = (side - p) // s + 1
        elif kind == "flatten":
            modules.append(nn.Flatten())
            features = channels * side * side
        elif kind == "dropout":
            modules.append(nn.Dropout(layer["rate"]))
        elif kind == "dense":
            modules.append(nn.Linear(features, layer["units"]))
            features = layer["units"]
        elif kind == "batch_norm":
            norm = nn.BatchNorm2d if features is None else nn.BatchNorm1d
            modules.append(norm(channels if features is None else features, eps=layer.get("epsilon", 1e-3),
                                momentum=1 - layer.get("momentum", 0.99)))
        act = layer.get("activation", "linear")
        if act in activations:
            modules.append(activations[act]())
    return nn.Sequential(*modules)


def torch_twin(config, train, valid, test, epochs, batch, threads):
    import torch
    from torch import nn
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_sequential(config["model"]["layers"])
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    to_nchw = lambda x: torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    x, y = to_nchw(train[0]), torch.from_numpy(train[1])
    generator = torch.Generator().manual_seed(0)

    def accuracy(data):
        model.eval()
        with torch.no_grad():
            xs, ys = to_nchw(data[0]), torch.from_numpy(data[1])
            correct = sum((model(xs[i:i + 500]).argmax(1) == ys[i:i + 500]).sum().item()
                          for i in range(0, len(xs), 500))
        return correct / len(xs)

    times, accs = [], []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch):
            chosen = order[i:i + batch]
            optimiser.zero_grad()
            loss = loss_fn(model(x[chosen]), y[chosen])
            loss.backward()
            optimiser.step()
        accs.append(accuracy(valid))
        times.append(time.perf_counter() - start)
        print(f"[epoch {epoch + 1}] {times[-1]:.2f}s  loss {loss.item():.4f}  val_acc {accs[-1]:.4f}", flush=True)
    return times, accs, accuracy(test), {"torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("framework", choices=["keras", "torch"])
    ap.add_argument("--config", required=True)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--data", default=DATA)
    args = ap.parse_args()
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    config.setdefault("model", {}).setdefault("layers", NOTEBOOK_LAYERS)
    training = config.get("training", {})
    epochs = args.epochs or training.get("epochs", DEFAULTS["epochs"])
    batch = training.get("batch_size", DEFAULTS["batch_size"])
    train, valid, test = load(args.data, config)
    twin = keras_twin if args.framework == "keras" else torch_twin
    times, accs, test_acc, versions = twin(config, train, valid, test, epochs, batch, args.threads)
    print(json.dumps({
        "framework": args.framework,
        "experiment": config.get("name", "notebook"),
        "epochs": epochs,
        "threads": args.threads,
        "epoch_s": [round(t, 3) for t in times],
        "median_epoch_s": round(float(np.median(times)), 3),
        "val_acc": [round(float(a), 4) for a in accs],
        "test_acc": round(float(test_acc), 4),
        "versions": versions,
    }), flush=True)


if __name__ == "__main__":
    main()
