#!/usr/bin/env python3
"""The Keras twin of configs/keras-convnet.toml: Keras's "Simple MNIST convnet"
example on CPU, timed per epoch, for the README's comparison.

    Conv2D(32, 3, relu) -> MaxPooling2D(2) -> Conv2D(64, 3, relu) -> MaxPooling2D(2)
    -> Flatten -> Dropout(0.5) -> Dense(10, softmax)
    x / 255; Adam(); categorical cross-entropy; batch 128; 15 epochs;
    validation_split 0.1; then model.evaluate on the test set.

MNIST is read from the four gzip IDX files bundled in data/mnist.

Usage (the Keras venv of ../shared/reference/setup.sh):
    python scripts/keras-convnet.py [--epochs 15] [--threads N] [--seed S] [--data DIR]
Prints one line per epoch, then a machine-readable JSON line.
"""
import argparse
import gzip
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist")


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(d):
    def images(name):
        return idx(os.path.join(d, name), 16).reshape(-1, 28, 28, 1).astype("float32") / 255.0

    def labels(name):
        return idx(os.path.join(d, name), 8)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--data", default=DATA)
    args = ap.parse_args()

    import tensorflow as tf
    if args.threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    from keras import layers

    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)

    x_train, y_train, x_test, y_test = load(args.data)
    y_train_1h = keras.utils.to_categorical(y_train, 10)
    y_test_1h = keras.utils.to_categorical(y_test, 10)

    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.summary()

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)
            print(f"[epoch {epoch + 1}] {self.times[-1]:.2f}s  loss {logs['loss']:.4f}  "
                  f"val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.4f}",
                  flush=True)

    timer = Timer()
    started = time.perf_counter()
    history = model.fit(x_train, y_train_1h, batch_size=128, epochs=args.epochs,
                        validation_split=0.1, verbose=0, callbacks=[timer])
    train_s = time.perf_counter() - started
    test_loss, test_acc = model.evaluate(x_test, y_test_1h, verbose=0)
    print(f"test loss {test_loss:.4f}  test accuracy {test_acc:.4f}  "
          f"training {train_s:.1f}s, median epoch {np.median(timer.times):.2f}s")
    print(json.dumps({
        "framework": "keras",
        "experiment": "keras-convnet",
        "epochs": args.epochs,
        "threads": args.threads,
        "train_s": round(train_s, 2),
        "epoch_s": [round(t, 2) for t in timer.times],
        "median_epoch_s": round(float(np.median(timer.times)), 2),
        "val_acc": [round(v, 4) for v in history.history["val_accuracy"]],
        "test_loss": round(float(test_loss), 4),
        "test_acc": round(float(test_acc), 4),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }), flush=True)


if __name__ == "__main__":
    main()
