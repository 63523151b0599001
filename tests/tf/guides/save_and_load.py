# TensorFlow's "Save and load Keras models" guide (Keras 3), its first example:
# a model saved to a .keras file and reloaded computes the same predictions,
# and its weights alone round-trip through save_weights/load_weights.
import numpy as np
import s2sgrad.tf as tf
from s2sgrad.tf import keras


def get_model():
    # Create a simple model.
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


model = get_model()

# Train the model.
rng = np.random.default_rng(1)
test_input = rng.random((128, 32))
test_target = rng.random((128, 1))
model.fit(test_input, test_target)

# Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
import os
import tempfile

directory = tempfile.mkdtemp()
path = os.path.join(directory, "my_model.keras")
model.save(path)

# It can be used to reconstruct the model identically.
reconstructed_model = keras.models.load_model(path)

# Let's check:
np.testing.assert_allclose(
    model.predict(test_input), reconstructed_model.predict(test_input)
)
print("same predictions")

weights = os.path.join(directory, "my_model.weights.h5")
model.save_weights(weights)
other = get_model()
other.load_weights(weights)
np.testing.assert_allclose(model.predict(test_input, verbose=0),
                           other.predict(test_input, verbose=0))
print("same weights")
