# The Keras functional API guide (keras.io/guides/functional_api, TensorFlow's
# "The Functional API"), its MNIST model with only the import changed; the
# data are random arrays of MNIST's shapes (no download), 1/10 of its size.
import numpy as np
import s2sgrad.tf as tf
from s2sgrad.tf import keras
from s2sgrad.tf.keras import layers

inputs = keras.Input(shape=(784,))
print(inputs.shape)
print(inputs.dtype)
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()

rng = np.random.default_rng(0)
x_train = rng.uniform(size=(6000, 784)).astype("float32")
y_train = rng.integers(0, 10, size=6000)
x_test = rng.uniform(size=(1000, 784)).astype("float32")
y_test = rng.integers(0, 10, size=1000)

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)

history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2)

test_scores = model.evaluate(x_test, y_test, verbose=2)
print("Test loss:", test_scores[0])
print("Test accuracy:", test_scores[1])
print(sorted(history.history))
